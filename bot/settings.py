"""Process settings read from the environment (and an optional `.env` file)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SLACK_PUBLIC_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./dispatch-bot.db"
PLUGIN_SETTING_PREFIXES = ("pagerduty_", "jira_", "google_", "webhook_")


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class Settings(BaseSettings):
    """Everything the process needs to start; secrets stay `SecretStr` so they never print."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_PUBLIC_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    dispatch_config: Path | None = None
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.text
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    # Longest a change waits for another change of the same rows to finish before it gives up.
    database_lock_timeout_seconds: float = Field(default=30.0, gt=0)
    archive_closed_channels: bool = True
    # Off: this process answers Slack but runs no periodic job (another replica runs them, or an
    # operator runs one by hand with `dispatch-bot scheduler run`).
    scheduled_jobs: bool = True
    # Ask people, once per incident, to answer in the channel rather than in threads.
    thread_reminder: bool = True
    # Only the commander and the scribe create and change tasks (otherwise any participant does).
    tasks_leads_only: bool = False
    # Slack's documented tier rates are multiplied by this for the bot's own pacing (above 1: a
    # workspace Slack granted more); 0 paces nothing, though a 429's Retry-After is still waited out.
    slack_pace_scale: float = Field(default=1.0, ge=0)
    # Renamed slash commands, by key: SLACK_COMMANDS='{"help": "/incident-help"}'.
    slack_commands: dict[str, str] = Field(default_factory=dict)
    # Plugin credentials; which plugin serves which role is chosen per project in the config file.
    pagerduty_api_key: SecretStr | None = None
    pagerduty_api_from_email: str | None = None
    pagerduty_api_url: str = "https://api.pagerduty.com"
    # Google Workspace: a service account with domain-wide delegation, acting as the delegated account.
    google_domain: str | None = None
    google_developer_key: SecretStr | None = None
    google_service_account_client_email: str | None = None
    google_service_account_client_id: str | None = None
    google_service_account_delegated_account: str | None = None
    google_service_account_private_key: SecretStr | None = None
    google_service_account_private_key_id: str | None = None
    google_service_account_project_id: str | None = None
    # Development: every e-mail goes to this one address instead.
    google_user_override: str | None = None
    # Where the Google APIs and the OAuth token endpoint live (Google's own when unset).
    google_api_url: str | None = None
    google_token_uri: str | None = None
    jira_api_url: str | None = None
    jira_username: str | None = None
    jira_api_token: SecretStr | None = None
    # Sent as a bearer token to the webhook workflows' URLs, when set.
    webhook_token: SecretStr | None = None
    # Origins besides a workflow URL's own where a run's status_url is followed (comma-separated).
    webhook_status_origins: str | None = None
    # Longest a plugin call may take before the step counts as failed (and is retried later).
    plugin_timeout_seconds: float = 30.0

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        # slack_sdk appends the method name to the base URL as-is.
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the URLs people paste (postgres://, postgresql://, sqlite://) and use the async drivers."""
        scheme, sep, rest = value.partition("://")
        drivers = {
            "postgres": "postgresql+asyncpg",
            "postgresql": "postgresql+asyncpg",
            "sqlite": "sqlite+aiosqlite",
        }
        if not sep or (scheme not in drivers and scheme not in drivers.values()):
            raise ValueError(
                "use postgresql+asyncpg://user:password@host/database or sqlite+aiosqlite:///path.db"
            )
        return f"{drivers.get(scheme, scheme)}://{rest}"

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    def missing_tokens(self) -> list[str]:
        """Names of the Slack tokens that are not set, as the environment spells them."""
        missing = []
        if not self.slack_bot_token or not self.slack_bot_token.get_secret_value():
            missing.append("SLACK_BOT_TOKEN")
        if not self.slack_app_token or not self.slack_app_token.get_secret_value():
            missing.append("SLACK_APP_TOKEN")
        return missing

    def plugin_secrets(self) -> dict[str, str]:
        """Plugin credentials and endpoints by environment name (PAGERDUTY_API_KEY...), only those set.

        Plugins read these rather than the settings object, so that they never import the bot.
        """
        secrets: dict[str, str] = {}
        for name in type(self).model_fields:
            if not name.startswith(PLUGIN_SETTING_PREFIXES):
                continue
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if value not in (None, ""):
                secrets[name.upper()] = str(value)
        return secrets

    def masked(self) -> dict[str, Any]:
        """The effective settings with secrets replaced by a mask, for printing."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif name == "database_url":
                value = mask_url_password(value)
            shown[name.upper()] = "" if value is None else str(value)
        return shown


def mask_url_password(url: str) -> str:
    """Hide the password of a database URL, in its credentials or its query string."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    query = {key: "***" if "password" in key.lower() else value for key, value in parsed.query.items()}
    return parsed.set(query=query).render_as_string(hide_password=True)
