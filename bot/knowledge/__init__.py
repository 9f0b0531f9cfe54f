"""What responders learn: runbooks suggested, tags found in the incident's text, terms explained."""
