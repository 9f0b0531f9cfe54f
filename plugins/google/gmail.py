"""Gmail: HTML e-mail with a plain-text part, rendered from the templates/ jinja2 files, sent as the bot."""

from __future__ import annotations

import base64
import html as html_lib
import re
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from plugins.google.client import GoogleWorkspace, workspace_for
from plugins.setup import PluginSetup
from templates import render_email


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
