"""Workflows: the project's automation, run from an incident channel and followed until it finishes."""
