"""Integrations as plugins: one small interface per role, one package per vendor (all optional)."""
