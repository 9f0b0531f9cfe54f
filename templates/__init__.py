"""Jinja2 templates for e-mails, longer message texts and document bodies, shipped in the wheel."""
