"""What the workflow flows and views both speak of: the workflows a project offers and their parameters."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Parameter:
    key: str
    value: str = ""
    description: str = ""


@dataclass(frozen=True)
class WorkflowChoice:
    id: int
    name: str
    description: str
    parameters: list[Parameter] = field(default_factory=list)
