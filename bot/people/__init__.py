"""People of an incident: roles, the participant list, and the channel events that keep it true."""
