"""What the e-mails and the welcome say, built from an incident card (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.incidents import channel_views
from bot.incidents.facts import IncidentCard
from bot.mail import content
from templates import render_email

CARD = IncidentCard(
    id=1,
    name="INC-1",
    title="Checkout <down>",
    description="EU customers & partners",
    status="active",
    visibility="open",
    project="Default",
    type="Outage",
    severity="High",
    priority="High",
    reporter_id="U1",
    commander_id="U2",
    channel_id="C1",
    resources={
        "ticket": "https://jira.example/INC-1",
        "conference": "https://meet.example/abc",
        "summary_message": "ignored",
    },
)


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


def test_the_welcome_shows_the_conference_first_and_only_the_resources_that_exist() -> None:
    _, blocks = channel_views.welcome(CARD, ["Scribe"])
    [links] = [b for b in blocks if "Join the conference" in str(b)]
    text = links["text"]["text"]
    assert text == "<https://meet.example/abc|📞 Join the conference>\n<https://jira.example/INC-1|🎫 Ticket>"
    _, bare = channel_views.welcome(IncidentCard(**{**CARD.__dict__, "resources": {}}), ["Scribe"])
    assert "Join the conference" not in str(bare) and len(bare) == len(blocks) - 1


def test_every_email_renders_escaped_html_and_plain_text() -> None:
    link = content.channel_link("https://acme.slack.com/", "C1")
    assert link == "https://acme.slack.com/archives/C1"
    assert content.channel_link(None, "C1") == "https://slack.com/app_redirect?channel=C1"
    emails = [
        content.welcome(CARD, ["Scribe"], "Ada", link),
        content.announcement(CARD, "Ada", link),
        content.update(
            CARD, [Change("Priority", "Low", "High"), Change("Description", "a", "b")], "Bo", "Ada", link
        ),
        content.report(CARD, "Tactical report", {"Needs": "A <DBA>"}, "Bo", "Ada", link),
    ]
    for subject, template, variables in emails:
        html, text = render_email(template, variables)
        assert "Checkout &lt;down&gt;" in html and "Checkout <down>" in text and "INC-1" in subject
        assert "https://acme.slack.com/archives/C1" in text
        # The announcement goes out as the channel opens, before the conference exists: it has no list.
        assert ("https://meet.example/abc" in html) == (template != "incident_notification")
    _, update_text = render_email(emails[2][1], emails[2][2])
    assert "Priority: Low -> High" in update_text and "Description updated" in update_text
    report_html, _ = render_email(emails[3][1], emails[3][2])
    assert "A &lt;DBA&gt;" in report_html
