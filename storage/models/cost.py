"""Incident costs: the kinds of cost a project tracks and what each incident has cost of each kind."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field

from storage.models.base import Timestamped, project_fk

# The cost kind the bot computes itself from response time; people add the others by hand.
RESPONSE_COST = "Response Cost"


class IncidentCostType(Timestamped, table=True):
    __tablename__ = "incident_cost_type"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    category: str = Field(default="Primary", max_length=50)
    # The computed response cost is not edited by people.
    editable: bool = True
    default: bool = False


class IncidentCost(Timestamped, table=True):
    __tablename__ = "incident_cost"
    __table_args__ = (sa.UniqueConstraint("incident_id", "cost_type_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    cost_type_id: int = Field(foreign_key="incident_cost_type.id", ondelete="CASCADE", index=True)
    # Whole cents, so sums stay exact on every database.
    amount_cents: int = 0
