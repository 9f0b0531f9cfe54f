"""Reports: tactical (conditions, actions, needs) for the responders, executive for stakeholders."""
