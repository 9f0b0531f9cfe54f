"""The Google Workspace plugins through the real googleapiclient, against the fake Google APIs."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from plugins.errors import PluginAuthError, PluginConfigError, PluginError, PluginNotFound, PluginRateLimited
from plugins.google.calendar import GoogleMeet
from plugins.google.client import GoogleAccount, GoogleWorkspace
from plugins.google.docs import GoogleDocument
from plugins.google.drive import FOLDER, GoogleDriveStorage
from plugins.google.gmail import GoogleMail
from plugins.google.groups import GoogleGroups
from plugins.interfaces import (
    ConferencePlugin,
    DocumentPlugin,
    EmailPlugin,
    ParticipantGroupPlugin,
    StoragePlugin,
)
from plugins.registry import Catalog, PluginProvider, build_project_plugins
from plugins.setup import PluginSetup
from tests.conftest import running_bot
from tests.fakes.google import FakeGoogle


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
async def google() -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle() as fake:
        yield fake


def secrets_for(
    fake: FakeGoogle, private_key: str, delegated: str = "dispatch@example.com"
) -> dict[str, str]:
    return {
        "GOOGLE_DOMAIN": "example.com",
        "GOOGLE_SERVICE_ACCOUNT_CLIENT_EMAIL": "bot@dispatch-project.iam.gserviceaccount.com",
        "GOOGLE_SERVICE_ACCOUNT_DELEGATED_ACCOUNT": delegated,
        "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY": private_key.replace("\n", "\\n"),
        "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY_ID": "k1",
        "GOOGLE_API_URL": fake.url,
        "GOOGLE_TOKEN_URI": fake.token_uri,
    }


@contextlib.asynccontextmanager
async def bot_with_google(
    slack: FakeSlack, database_url: str, google: FakeGoogle, private_key: str
) -> AsyncIterator[BotProcess]:
    """The real bot, its Google credentials pointing at the fake."""
    secrets = {name.lower(): value for name, value in secrets_for(google, private_key).items()}
    secrets["google_service_account_private_key"] = private_key
    async with running_bot(slack, database_url, plugin_timeout_seconds=10.0, **secrets) as process:
        yield process


@pytest.fixture
def workspace(google: FakeGoogle, private_key: str) -> Iterator[GoogleWorkspace]:
    setup = PluginSetup("Default", "storage", {}, secrets_for(google, private_key))
    built = GoogleWorkspace(GoogleAccount.from_setup(setup), timeout=5, backoff=0.01)
    yield built
    built.close()


async def test_the_incident_folder_is_shared_with_participants_and_groups(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    storage = GoogleDriveStorage(workspace, folders=["Evidence", "Notes"])

    folder = await storage.create_folder(
        "INC-7 Checkout down", ["alice@example.com", "bob@example.com"], groups=["inc-7@example.com"]
    )

    stored = google.files[folder.id]
    assert (stored["name"], stored["mimeType"]) == ("INC-7 Checkout down", FOLDER)
    [drive] = google.drives.values()
    assert drive["name"] == "INC-7 Checkout down" and stored["parents"] == [drive["id"]]
    assert sorted(f["name"] for f in google.children(folder.id)) == ["Evidence", "Notes"]
    assert folder.details["folders"].keys() == {"Evidence", "Notes"}
    assert folder.weblink == f"https://drive.google.com/folders/{folder.id}"
    shared = [(p["type"], p["role"], p["emailAddress"]) for p in stored["permissions"]]
    assert shared == [
        ("user", "writer", "alice@example.com"),
        ("user", "writer", "bob@example.com"),
        ("group", "writer", "inc-7@example.com"),
    ]
    assert {p["sendNotificationEmail"] for p in stored["permissions"]} == {"false"}
    # The calls act as the delegated Workspace user, not as the service account itself.
    assert {c.subject for c in google.calls if c.path != "/token"} == {"dispatch@example.com"}

    await storage.add_participants(folder.id, ["carol@example.com"])
    await storage.open_to_domain(folder.id)
    permissions = await storage.permissions(folder.id)
    assert permissions[-2:] == [
        {"id": permissions[-2]["id"], "type": "user", "role": "writer", "emailAddress": "carol@example.com"},
        {"id": permissions[-1]["id"], "type": "domain", "role": "reader", "domain": "example.com"},
    ]


async def test_a_retried_folder_creation_finds_the_first_one(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    existing = next(iter(google.drives), None)
    assert existing is None
    storage = GoogleDriveStorage(workspace, folders=["Evidence"])
    first = await storage.create_folder("INC-8 Login slow", [])
    again = await storage.create_folder("INC-8 Login slow", [])
    assert again.id == first.id and len(google.drives) == 1
    assert [f["name"] for f in google.files.values()] == ["INC-8 Login slow", "Evidence"]


async def test_a_drive_whose_creation_answer_was_lost_is_found_and_holds_the_folder(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    """Google makes the drive but its answer is lost; the retry's request id is refused with 409, as
    Google does, and the bot finds the drive it made rather than failing or making a second one."""
    storage = GoogleDriveStorage(workspace, folders=["Evidence"])
    google.lose_answer("POST", "/drive/v3/drives", 503)

    folder = await storage.create_folder("INC-5 Payments down", [])

    assert [c.status for c in google.calls_to("POST", "/drive/v3/drives")] == [503, 409]
    [drive] = google.drives.values()
    assert drive["name"] == "INC-5 Payments down" and folder.details["drive_id"] == drive["id"]
    assert google.files[folder.id]["parents"] == [drive["id"]]
    assert [f["name"] for f in google.children(folder.id)] == ["Evidence"]

    # A later retry of the whole step (the reconcile job's) meets the 409 too and finds the same folder.
    again = await storage.create_folder("INC-5 Payments down", [])
    assert again.id == folder.id and len(google.drives) == 1 and len(google.files) == 2


async def test_a_configured_shared_drive_holds_the_folders(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    google.drives["drv-ops"] = {"id": "drv-ops", "name": "Incidents", "requestId": ""}
    storage = GoogleDriveStorage(workspace, shared_drive_id="drv-ops")
    folder = await storage.create_folder("INC-9", [])
    assert google.files[folder.id]["parents"] == ["drv-ops"] and google.drives.keys() == {"drv-ops"}


async def test_google_refusals_become_sentences(google: FakeGoogle, workspace: GoogleWorkspace) -> None:
    storage = GoogleDriveStorage(workspace, shared_drive_id="drv-none")
    with pytest.raises(PluginNotFound, match=r"could not create the folder 'INC-1': not found \(404"):
        await storage.create_folder("INC-1", [])

    google.drives["drv"] = {"id": "drv", "name": "Incidents", "requestId": ""}
    storage = GoogleDriveStorage(workspace, shared_drive_id="drv")
    google.fail("POST", "/drive/v3/files", 403)
    with pytest.raises(PluginAuthError, match=r"does not allow dispatch@example.com to create the folder"):
        await storage.create_folder("INC-1", [])

    google.fail("POST", "/drive/v3/files", 429, times=2)
    folder = await storage.create_folder("INC-1", [])
    assert folder.name == "INC-1"
    assert [c.status for c in google.calls_to("POST", "/drive/v3/files")][-3:] == [429, 429, 200]

    google.fail("GET", "/drive/v3/files", 429, times=20, retry_after=120)
    with pytest.raises(PluginRateLimited, match=r"rate limiting .* Try again in 120 s") as raised:
        await storage.create_folder("INC-2", [])
    assert raised.value.retry_after == 120


async def test_an_account_without_delegation_is_told_what_to_check(
    google: FakeGoogle, private_key: str
) -> None:
    setup = PluginSetup(
        "Default", "storage", {}, secrets_for(google, private_key, delegated="x@elsewhere.org")
    )
    workspace = GoogleWorkspace(GoogleAccount.from_setup(setup), timeout=5)
    try:
        with pytest.raises(PluginAuthError, match="domain-wide delegation"):
            await GoogleDriveStorage(workspace).create_folder("INC-1", [])
    finally:
        workspace.close()


def test_credentials_come_from_the_google_settings(private_key: str) -> None:
    with pytest.raises(PluginConfigError, match="GOOGLE_DOMAIN, GOOGLE_SERVICE_ACCOUNT_CLIENT_EMAIL"):
        GoogleAccount.from_setup(PluginSetup("Default", "storage", {}, {}))
    with pytest.raises(PluginConfigError, match="not a usable private key"):
        secrets = {
            "GOOGLE_DOMAIN": "example.com",
            "GOOGLE_SERVICE_ACCOUNT_CLIENT_EMAIL": "bot@p.iam.gserviceaccount.com",
            "GOOGLE_SERVICE_ACCOUNT_DELEGATED_ACCOUNT": "dispatch@example.com",
            "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY": "not a key",
        }
        GoogleWorkspace(GoogleAccount.from_setup(PluginSetup("Default", "storage", {}, secrets)))
    account = GoogleAccount.from_setup(
        PluginSetup("Default", "storage", {}, {**secrets, "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY": private_key})
    )
    assert account.endpoint("drive", "v3") == "https://www.googleapis.com/drive/v3/"
    local = GoogleAccount.from_setup(
        PluginSetup(
            "Default",
            "storage",
            {"api_url": "http://127.0.0.1:9/"},
            {**secrets, "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY": private_key},
        )
    )
    assert (
        local.endpoint("drive", "v3"),
        local.endpoint("docs", "v1"),
        local.endpoint("calendar", "v3"),
    ) == (
        "http://127.0.0.1:9/drive/v3/",
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/calendar/v3/",
    )


async def test_many_calls_at_once_each_get_their_own_answer(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    google.latency = 0.01
    storage = GoogleDriveStorage(workspace, shared_drive_id="drv")
    google.drives["drv"] = {"id": "drv", "name": "Incidents", "requestId": ""}
    names = [f"INC-{n}" for n in range(40)]
    folders = await asyncio.gather(
        *(storage.create_folder(name, [f"u{n}@example.com"]) for n, name in enumerate(names))
    )
    assert [f.name for f in folders] == names
    for n, folder in enumerate(folders):
        assert google.files[folder.id]["name"] == names[n]
        assert [p["emailAddress"] for p in google.files[folder.id]["permissions"]] == [f"u{n}@example.com"]


TEMPLATE = (
    "{{name}}: {{title}}\n"
    "Status {{status}}, priority {{priority}}, type {{type}}. Commander: {{commander_fullname}}\n"
    "{{description}}\nResolution: {{resolution}}\n"
    "Channel {{conversation_weblink}} Meet {{conference_weblink}} Folder {{storage_weblink}}\n"
    "Doc {{document_weblink}} Ticket {{ticket_weblink}}\n"
)


async def test_the_incident_document_is_the_template_with_every_variable_filled(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    template = google.add_document("Incident template", TEMPLATE)
    folder = await GoogleDriveStorage(workspace).create_folder("INC-7", [])
    document = GoogleDocument(workspace)
    variables = {
        "name": "INC-7",
        "title": "Checkout down",
        "description": "Cart fails with 500",
        "commander_fullname": "Alice Cooper",
        "type": "Outage",
        "priority": "High",
        "status": "Active",
        "conversation_weblink": "https://slack.example/C1",
    }

    made = await document.create_from_template(template, folder.id, "INC-7 - Incident document", variables)

    assert google.files[made.id]["parents"] == [folder.id]
    assert google.files[made.id]["name"] == "INC-7 - Incident document"
    text = await document.text(made.id)
    assert text.splitlines()[:3] == [
        "INC-7: Checkout down",
        "Status Active, priority High, type Outage. Commander: Alice Cooper",
        "Cart fails with 500",
    ]
    assert "Channel https://slack.example/C1 Meet  Folder" in text
    assert "{{" not in text and made.details["unresolved"] == []
    assert google.documents[template] == TEMPLATE  # the template itself is untouched

    await document.update_fields(made.id, variables, {**variables, "status": "Stable", "priority": "Low"})
    assert "Status Stable, priority Low, type Outage." in google.documents[made.id]


async def test_a_changed_field_is_replaced_where_the_bot_wrote_it_and_nowhere_else(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    template = google.add_document(
        "Template",
        "{{title}} ({{status}})\n| Severity | {{type}} | Priority | {{priority}} |\n"
        "Summary: {{description}}\n",
    )
    folder = await GoogleDriveStorage(workspace).create_folder("INC-8", [])
    document = GoogleDocument(workspace)
    # Two fields with the same text (in a table), and a title Docs counts in UTF-16 (the emoji is two
    # units).
    variables = {"title": "🔥 Checkout down", "status": "Active", "type": "High", "priority": "High"}
    made = await document.create_from_template(
        template, folder.id, "INC-8 doc", {**variables, "description": "🔥 Checkout down"}
    )
    assert google.ranges_of(made.id, "dispatch-bot:priority") == ["High"]
    # A responder writes notes that happen to hold the same words.
    google.type_in_document(made.id, "Summary: ", "High load while Active; ")

    current = {**variables, "title": "Checkout errors", "status": "Stable", "priority": "Low"}
    await document.update_fields(made.id, variables, current)
    assert google.documents[made.id] == (
        "Checkout errors (Stable)\n| Severity | High | Priority | Low |\n"
        "Summary: High load while Active; 🔥 Checkout down\n"
    )
    await document.update_fields(made.id, current, {**current, "status": "Closed"})
    assert google.documents[made.id].startswith("Checkout errors (Closed)\n")
    assert google.ranges_of(made.id, "dispatch-bot:status") == ["Closed"]
    assert google.ranges_of(made.id, "dispatch-bot:title") == ["Checkout errors"]


async def test_two_field_updates_at_once_each_land_where_they_belong(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    template = google.add_document("Template", "{{title}}: {{status}}, priority {{priority}}\n")
    folder = await GoogleDriveStorage(workspace).create_folder("INC-9", [])
    document = GoogleDocument(workspace)
    variables = {"title": "Slow search", "status": "Active", "priority": "Low"}
    made = await document.create_from_template(template, folder.id, "INC-9 doc", variables)
    google.latency = 0.05  # both read the document before either writes
    await asyncio.gather(
        document.update_fields(made.id, variables, {**variables, "title": "Search down everywhere"}),
        document.update_fields(made.id, variables, {**variables, "priority": "High"}),
    )
    assert google.documents[made.id] == "Search down everywhere: Active, priority High\n"
    # Someone typing between the bot's read and its write is not written over either.
    google.typing_after_read[made.id] = ("Search", " (EU)")
    await document.update_fields(made.id, variables, {**variables, "status": "Stable"})
    assert google.documents[made.id] == "Search (EU) down everywhere: Stable, priority High\n"


async def test_a_template_key_the_bot_does_not_know_is_reported(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    template = google.add_document("Template", "{{name}} owned by {{ team_lead }}\n")
    folder = await GoogleDriveStorage(workspace).create_folder("INC-3", [])
    made = await GoogleDocument(workspace).create_from_template(template, folder.id, "Doc", {"name": "INC-3"})
    assert made.details["unresolved"] == ["team_lead"]
    with pytest.raises(PluginNotFound, match="could not copy template nope"):
        await GoogleDocument(workspace).create_from_template("nope", folder.id, "Other doc", {})


async def test_a_retried_copy_finds_the_copy_already_in_the_folder(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    template = google.add_document("Template", "{{name}} and {{title}}\n")
    storage = GoogleDriveStorage(workspace)
    folder = await storage.create_folder("INC-4", [])
    first = await storage.copy_file(folder.id, template, "INC-4 - Notes")
    again = await storage.copy_file(folder.id, template, "INC-4 - Notes")
    assert again.id == first.id
    document = GoogleDocument(workspace)
    google.fail("POST", "/v1/documents/", 500, times=10)
    with pytest.raises(PluginError):
        await document.create_from_template(template, folder.id, "INC-4 - Doc", {"name": "INC-4"})
    google.injected.faults.clear()
    made = await document.create_from_template(template, folder.id, "INC-4 - Doc", {"name": "INC-4"})
    assert [f["name"] for f in google.children(folder.id)] == ["INC-4 - Notes", "INC-4 - Doc"]
    assert google.documents[made.id] == "INC-4 and \n"
    assert made.details["variables"]["document_weblink"] == made.weblink


async def test_the_tactical_and_notifications_groups(google: FakeGoogle, workspace: GoogleWorkspace) -> None:
    groups = GoogleGroups(workspace)

    tactical, informed = await groups.create_incident_groups(
        "inc-7", ["alice@example.com", "bob@example.com"], ["execs@example.com"], description="INC-7"
    )

    assert tactical.details["email"] == "inc-7@example.com"
    assert informed.details["email"] == "inc-7-notifications@example.com"
    assert google.groups["inc-7@example.com"]["members"] == {
        "alice@example.com": "MEMBER",
        "bob@example.com": "MEMBER",
    }
    assert list(google.groups["inc-7-notifications@example.com"]["members"]) == ["execs@example.com"]

    await groups.add("inc-7@example.com", ["carol@example.com", "alice@example.com"])
    await groups.remove("inc-7@example.com", ["bob@example.com", "nobody@example.com"])
    assert await groups.members("inc-7@example.com") == ["alice@example.com", "carol@example.com"]

    again, _ = await groups.create_incident_groups("inc-7", ["dave@example.com"])
    assert again.id == tactical.id and len(google.groups) == 2
    await groups.delete("inc-7-notifications@example.com")
    assert list(google.groups) == ["inc-7@example.com"]
    with pytest.raises(PluginNotFound, match=r"could not list the members of gone@example\.com"):
        await groups.members("gone@example.com")


async def test_an_email_has_an_html_and_a_text_part(google: FakeGoogle, workspace: GoogleWorkspace) -> None:
    context = {
        "name": "INC-7",
        "title": "Checkout <down>",
        "description": "Cart fails",
        "status": "Active",
        "type": "Outage",
        "priority": "High",
        "commander_fullname": "Alice Cooper",
        "conversation_weblink": "https://slack.example/C1",
        "document_weblink": "",
    }

    await GoogleMail(workspace).send_template(
        ["execs@example.com", "ops@example.com"], "INC-7: Checkout down", "incident_notification", context
    )

    [message] = google.messages
    assert message["From"] == "dispatch@example.com"
    assert message["To"] == "execs@example.com, ops@example.com"
    assert message["Subject"] == "INC-7: Checkout down"
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert html is not None and text is not None
    assert "<h2>INC-7: Checkout &lt;down&gt;</h2>" in html.get_content()
    assert '<a href="https://slack.example/C1">Join the incident channel</a>' in html.get_content()
    assert "Read the incident document" not in html.get_content()
    assert text.get_content().splitlines()[:1] == ["INC-7: Checkout <down>"]
    assert "Commander: Alice Cooper" in text.get_content()


async def test_the_user_override_funnels_email_and_html_alone_gets_a_text_part(
    google: FakeGoogle, private_key: str
) -> None:
    secrets = {**secrets_for(google, private_key), "GOOGLE_USER_OVERRIDE": "dev@example.com"}
    mail = GoogleMail.from_setup(PluginSetup("Default", "email", {}, secrets))
    await mail.send(["execs@example.com"], "Hello", "<p>Status: <b>Active</b></p><p>Bye &amp; thanks</p>")
    [message] = google.messages
    assert message["To"] == "dev@example.com"
    plain = message.get_body(("plain",))
    assert plain is not None and plain.get_content() == "Status: Active\nBye & thanks\n"


async def test_the_conference_is_a_meet_link(google: FakeGoogle, workspace: GoogleWorkspace) -> None:
    start = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
    meet = GoogleMeet(workspace, clock=lambda: start)

    conference = await meet.create("INC-7 Checkout down", "Cart fails", ["alice@example.com"])

    [event] = google.events.values()
    assert conference.weblink == event["hangoutLink"] and conference.weblink.startswith(
        "https://meet.google.com/"
    )
    assert conference.id == event["conferenceData"]["conferenceId"]
    assert conference.details["event_id"] == event["id"]
    assert event["summary"] == "INC-7 Checkout down"
    assert event["attendees"] == [{"email": "alice@example.com"}]
    assert (event["start"]["dateTime"], event["end"]["dateTime"]) == (
        "2026-12-01T22:00:00+00:00",
        "2026-12-01T23:00:00+00:00",
    )
    assert event["conferenceData"]["createRequest"]["conferenceSolutionKey"] == {"type": "hangoutsMeet"}


async def test_a_retried_conference_finds_the_event_the_first_try_made(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    meet = GoogleMeet(workspace)
    first = await meet.create("INC-7 Checkout down", "Cart fails", ["alice@example.com"])
    # The first answer was lost (a timeout, say): the step runs again with the same incident.
    again = await meet.create("INC-7 Checkout down", "Cart fails", ["alice@example.com"])
    assert len(google.events) == 1 and again == first
    other = await meet.create("INC-8 Search slow", "", [])
    assert len(google.events) == 2 and other.weblink != first.weblink


async def test_a_project_config_chooses_the_google_plugins(google: FakeGoogle, private_key: str) -> None:
    choices = {
        "storage": {"plugin": "google-drive", "options": {"folders": ["Evidence"]}},
        "document": {"plugin": "google-docs"},
        "participant_group": {"plugin": "google-groups"},
        "email": {"plugin": "google-gmail"},
        "conference": {"plugin": "google-calendar", "options": {"duration_minutes": 30}},
    }
    built = build_project_plugins(Catalog.discover(), "Default", choices, secrets_for(google, private_key))
    assert built.problems == {}
    assert isinstance(built.get("storage"), StoragePlugin)
    assert isinstance(built.get("document"), DocumentPlugin)
    assert isinstance(built.get("participant_group"), ParticipantGroupPlugin)
    assert isinstance(built.get("email"), EmailPlugin)
    assert isinstance(built.get("conference"), ConferencePlugin)
    storage = built.get("storage")
    assert isinstance(storage, GoogleDriveStorage)
    folder = await storage.create_folder("INC-5", ["alice@example.com"])
    assert [f["name"] for f in google.children(folder.id)] == ["Evidence"]
    missing = build_project_plugins(Catalog.discover(), "Default", {"email": {"plugin": "google-gmail"}}, {})
    assert "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY" in missing.problems["email"]


async def test_one_process_shares_one_google_client_and_stopping_ends_its_threads(
    google: FakeGoogle, private_key: str
) -> None:
    choices = {"storage": {"plugin": "google-drive"}, "email": {"plugin": "google-gmail"}}
    provider = PluginProvider(secrets_for(google, private_key))
    other = PluginProvider(secrets_for(google, private_key))
    storage, mail = (provider.for_project("Default", choices).get(role) for role in ("storage", "email"))
    assert isinstance(storage, GoogleDriveStorage) and isinstance(mail, GoogleMail)
    assert storage.workspace is mail.workspace
    elsewhere = other.for_project("Default", choices).get("storage")
    assert isinstance(elsewhere, GoogleDriveStorage) and elsewhere.workspace is not storage.workspace
    before = set(threading.enumerate())
    await asyncio.gather(*(storage.create_folder(f"INC-{n}", []) for n in range(4)))
    threads = [t for t in threading.enumerate() if t not in before and t.name.startswith("google")]
    assert threads

    provider.close()
    # The other process's client is untouched, and the closed one's threads end.
    await elsewhere.create_folder("INC-9", [])
    assert {f["name"] for f in google.files.values()} >= {"INC-0", "INC-3", "INC-9"}
    for _ in range(200):
        if not any(thread.is_alive() for thread in threads):
            break
        await asyncio.sleep(0.01)
    assert [thread.name for thread in threads if thread.is_alive()] == []
    other.close()


async def test_a_failing_backend_is_retried_then_reported(
    google: FakeGoogle, workspace: GoogleWorkspace
) -> None:
    meet = GoogleMeet(workspace)
    google.fail("POST", "/calendar/v3/", 503, times=1)
    conference = await meet.create("INC-4", "", [])
    assert conference.weblink is not None
    google.fail("POST", "/calendar/v3/", 500, times=10)
    with pytest.raises(PluginError, match=r"Google answered 500 to create the conference for 'INC-4'"):
        await meet.create("INC-4", "", [])
    assert len(google.events) == 1


async def test_a_google_that_does_not_answer_in_time_is_reported(
    google: FakeGoogle, private_key: str
) -> None:
    setup = PluginSetup("Default", "email", {}, secrets_for(google, private_key))
    workspace = GoogleWorkspace(GoogleAccount.from_setup(setup), timeout=0.2, retries=0)
    google.latency = 1.0
    try:
        with pytest.raises(PluginError, match=r"Cannot reach Google at http://127\.0\.0\.1"):
            await GoogleMail(workspace).send(["a@example.com"], "Hi", "<p>Hi</p>")
    finally:
        workspace.close()
