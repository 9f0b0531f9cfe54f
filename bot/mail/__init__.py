"""E-mail through the project's `email` plugin: each e-mail once, and never blocking a flow."""
