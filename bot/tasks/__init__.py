"""Tasks: follow-up work created in an incident channel, resolved and re-opened from its message or a list."""
