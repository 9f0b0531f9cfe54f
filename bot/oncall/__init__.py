"""Engaging on-call people: `/dispatch-engage-oncall`, through the on-call plugin."""
