"""The process: the Bolt app, its context, the scheduler, health, metrics and logs."""
