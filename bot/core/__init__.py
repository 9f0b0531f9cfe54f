"""Core listeners: the help command and the event subscriptions the other capabilities build on."""
