"""Incidents: reporting, the incident channel and its people, status and updates."""
