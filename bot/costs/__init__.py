"""Costs: what responding to an incident cost, computed from who held which role and who spoke when."""
