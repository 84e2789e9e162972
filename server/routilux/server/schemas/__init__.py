"""Wire models: what the API accepts and returns (named as the OpenAPI schema shows them)."""
