"""Feedback: how the response went, asked of every participant when an incident closes."""
