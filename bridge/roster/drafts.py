"""Parsed-but-unresolved roster pieces, merged across files, still carrying source positions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .model import DaySpec, HoursSet, Period
from .source import Node

Ref = tuple[str, Node]  # a referenced id or Matrix ID, and where it was written


@dataclass
class JurisdictionDraft:
    id: str
    name: str
    space_name: str
    node: Node
    values: dict[str, object] = field(default_factory=dict)  # the optional fields read
    parent: Ref | None = None
    hours: Ref | None = None


@dataclass
class DepartmentDraft:
    id: str
    values: dict[str, object]  # the plain Department fields read from YAML
    node: Node
    jurisdiction: Ref | None
    hours: Ref | None


@dataclass
class OfficerDraft:
    mxid: str
    alias: str
    node: Node
    alias_node: Node
    departments: list[Ref] | None  # None means every department ("*")


@dataclass
class HoursDraft:
    hours: HoursSet
    node: Node
    departments: list[Ref]


@dataclass
class RotationDraft:
    anchor: date
    every_days: int
    groups: list[list[Ref]]


@dataclass
class ShiftDraft:
    department: Ref
    name: str
    days: DaySpec
    dates: tuple[date, ...] | None
    period: Period
    officers: list[Ref]
    rotation: RotationDraft | None
    any_day: bool
    valid_from: date | None
    valid_until: date | None
    node: Node


@dataclass
class CalendarDraft:
    holidays: dict[date, Node] = field(default_factory=dict)
    workdays: dict[date, Node] = field(default_factory=dict)
    provisional: bool = False


@dataclass
class Drafts:
    example_data: bool = False
    timezone: tuple[str, Node] | None = None
    jurisdictions: dict[str, JurisdictionDraft] = field(default_factory=dict)
    departments: dict[str, DepartmentDraft] = field(default_factory=dict)
    officers: dict[str, OfficerDraft] = field(default_factory=dict)
    hours: dict[str, HoursDraft] = field(default_factory=dict)
    shifts: list[ShiftDraft] = field(default_factory=list)
    calendar: dict[int, CalendarDraft] = field(default_factory=dict)
