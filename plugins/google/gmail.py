"""Gmail: HTML e-mail with a plain-text part, rendered from the templates/ jinja2 files, sent as the bot."""

from __future__ import annotations

import base64
import html as html_lib
import re
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2

import templates
from plugins.google.client import GoogleWorkspace, workspace_for
from plugins.registry import PluginSetup

TEMPLATES_DIR = Path(templates.__file__).parent
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


def _text_of(html: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</li>|</h\d>", "\n", html)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", text)).strip() + "\n"


class GoogleMail:
    """The `email` role: messages from the delegated account, through users.messages.send."""

    def __init__(self, workspace: GoogleWorkspace) -> None:
        self.workspace = workspace

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> GoogleMail:
        return cls(workspace_for(setup))

    async def send(self, to: Sequence[str], subject: str, html: str, text: str | None = None) -> None:
        account = self.workspace.account
        message = EmailMessage()
        message["From"] = account.delegated_account
        # GOOGLE_USER_OVERRIDE funnels every e-mail to one developer's inbox.
        message["To"] = ", ".join([account.user_override] if account.user_override else dict.fromkeys(to))
        message["Subject"] = subject
        message.set_content(text if text is not None else _text_of(html))
        message.add_alternative(html, subtype="html")
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")

        def send(workspace: GoogleWorkspace) -> None:
            workspace.service("gmail", "v1").users().messages().send(userId="me", body={"raw": raw}).execute()

        await self.workspace.run(send, f"send the e-mail {subject!r}")

    async def send_template(
        self, to: Sequence[str], subject: str, template: str, context: Mapping[str, Any]
    ) -> None:
        """Render `templates/email/<template>` and send it."""
        html, text = render_email(template, context)
        await self.send(to, subject, html, text)
