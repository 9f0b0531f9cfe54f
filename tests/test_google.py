"""The Google Workspace plugins through the real googleapiclient, against the fake Google APIs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from plugins.errors import PluginAuthError, PluginConfigError, PluginNotFound, PluginRateLimited
from plugins.google.client import GoogleAccount, GoogleWorkspace
from plugins.google.drive import FOLDER, GoogleDriveStorage
from plugins.registry import PluginSetup
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
