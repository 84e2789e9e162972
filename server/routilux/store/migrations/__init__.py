"""Alembic migrations of the store's schema, applied by ``SqlStore.open()``."""
