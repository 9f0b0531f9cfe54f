"""The Slack side of the process: the Web API client, the Socket Mode runner, escaping helpers."""
