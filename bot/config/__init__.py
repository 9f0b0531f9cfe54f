"""Configuration as code: the workspace YAML file, its validation, and how it is applied to the database."""
