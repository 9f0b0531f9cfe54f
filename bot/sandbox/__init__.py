"""Try the bot with no Slack workspace: an embedded one on loopback, and the `dispatch-bot sandbox` driver."""
