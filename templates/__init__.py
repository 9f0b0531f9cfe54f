"""Jinja2 templates for e-mails, longer message texts and document bodies, shipped in the wheel."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).parent
_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=jinja2.select_autoescape(["html", "html.j2"]),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def render_email(template: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The HTML and plain-text bodies of `templates/email/<template>.html.j2` and `.txt.j2`."""
    html = _environment.get_template(f"email/{template}.html.j2").render(context)
    text = _environment.get_template(f"email/{template}.txt.j2").render(context)
    return html, text
