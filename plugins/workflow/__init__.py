"""Workflow plugins: automation in other systems, started from an incident and followed until done."""
