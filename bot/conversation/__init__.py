"""Keeping the incident channel's conversation easy to follow: thread reminders and after-hours warnings."""
