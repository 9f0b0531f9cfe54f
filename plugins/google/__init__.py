"""Google Workspace through one service account: Drive, Docs, Groups, Gmail, Meet, and comment tasks."""

from __future__ import annotations

from plugins.setup import PluginSetup


def plugin_for(name: str, setup: PluginSetup) -> object:
    """Build the Google plugin the config file names (google-drive, google-docs...)."""
    if name == "google-drive":
        from plugins.google.drive import GoogleDriveStorage

        return GoogleDriveStorage.from_setup(setup)
    if name == "google-docs":
        from plugins.google.docs import GoogleDocument

        return GoogleDocument.from_setup(setup)
    if name == "google-groups":
        from plugins.google.groups import GoogleGroups

        return GoogleGroups.from_setup(setup)
    if name == "google-gmail":
        from plugins.google.gmail import GoogleMail

        return GoogleMail.from_setup(setup)
    if name == "google-calendar":
        from plugins.google.calendar import GoogleMeet

        return GoogleMeet.from_setup(setup)
    if name == "google-tasks":
        from plugins.google.tasks import GoogleDocTasks

        return GoogleDocTasks.from_setup(setup)
    raise ValueError(f"no Google plugin named {name!r}")
