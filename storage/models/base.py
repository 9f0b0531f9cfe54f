"""Shared column helpers and the metadata naming convention (stable constraint names for migrations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = SQLModel.metadata


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def updated_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def optional_time_field() -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


def json_field(default_factory: Any = dict) -> Any:
    """A JSON column (JSONB on PostgreSQL) whose in-place changes (`row.tags.append(...)`) are saved."""
    mutable = MutableList if default_factory is list else MutableDict
    # A new type object per column: `as_mutable` tracks the type by identity.
    column_type = sa.JSON().with_variant(JSONB(), "postgresql")
    return Field(default_factory=default_factory, sa_type=mutable.as_mutable(column_type), nullable=False)


def project_fk() -> Any:
    return Field(foreign_key="project.id", ondelete="CASCADE", index=True)


class Timestamped(SQLModel):
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
