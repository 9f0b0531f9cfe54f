"""Incident costs: the kinds of cost a project tracks, what each incident cost, and what that comes from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from storage.models.base import Timestamped, json_field, optional_time_field, project_fk
from storage.types import UTCDateTime

# The cost kind the bot computes itself from response time; people add the others by hand.
RESPONSE_COST = "Response Cost"


class IncidentCostType(Timestamped, table=True):
    __tablename__ = "incident_cost_type"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = Field(default="", sa_column_kwargs={"server_default": ""})
    category: str = Field(default="Primary", max_length=50)
    # The computed response cost is not edited by people.
    editable: bool = True
    default: bool = False
    # False once the config file no longer lists it (costs already added keep their type).
    enabled: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class IncidentCost(Timestamped, table=True):
    __tablename__ = "incident_cost"
    __table_args__ = (sa.UniqueConstraint("incident_id", "cost_type_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    cost_type_id: int = Field(foreign_key="incident_cost_type.id", ondelete="CASCADE", index=True)
    # Whole cents, so sums stay exact on every database.
    amount_cents: int = 0


class ParticipantActivity(SQLModel, table=True):
    """One message a person wrote in an incident's channel or one of its threads, once per Slack ts."""

    __tablename__ = "participant_activity"
    __table_args__ = (sa.UniqueConstraint("incident_id", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=50)
    # Slack's message id in the channel: a redelivered event finds its row and adds nothing.
    ts: str = Field(max_length=40)
    in_thread: bool = False
    # When the bot heard it, on the bot's clock, the one role spans are timed with too.
    posted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class CostModel(Timestamped, table=True):
    """A project's way of costing response from activity: each activity opens a window of effort."""

    __tablename__ = "cost_model"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    # The config's `enabled`: a model switched off leaves its incident types on the classic cost.
    active: bool = True
    # [{"kind": "slack_channel_activity", "response_time_seconds": 300, "enabled": true}, ...]
    activities: list[dict[str, Any]] = json_field(list)
    # False once the config file no longer lists it.
    enabled: bool = True


class IncidentCostState(SQLModel, table=True):
    """Where an incident's computed response cost stands, so a pass can skip incidents with nothing new.

    When the cost model changes (a new type, an edited model), the cost so far is settled with the
    old model and the new one counts from then on; `model` keeps the definition last used.
    """

    __tablename__ = "incident_cost_state"

    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", primary_key=True)
    # None: the classic role-time cost; else {"name": ..., "activities": [...]}.
    model: dict[str, Any] | None = Field(
        default=None, sa_type=sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True
    )
    settled_cents: int = 0
    settled_until: datetime | None = optional_time_field()
    last_activity_id: int = 0
    status: str = Field(default="active", max_length=20)
    computed_at: datetime | None = optional_time_field()
