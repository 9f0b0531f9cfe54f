"""Persistence: SQLModel tables, the async engine and session factory, migrations helpers."""
