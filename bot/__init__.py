"""dispatch-bot: a Slack-first incident response bot running as one async Socket Mode process."""

__version__ = "0.1.0"
