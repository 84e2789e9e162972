"""Route modules, one per resource; each function's name is its operationId."""
