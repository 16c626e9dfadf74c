"""Cross-references between sections, checked once every file has been read."""

from __future__ import annotations

from dataclasses import dataclass

from .drafts import Drafts, Ref
from .errors import Reporter
from .model import (
    CalendarYear,
    Department,
    HoursSet,
    Jurisdiction,
    Officer,
    Period,
    Rotation,
    Shift,
)
from .source import error, suggest

# The usual government office hours, used when no file defines a set named "default".
BUILTIN_DEFAULT = HoursSet("default", workdays=(Period(8 * 3600 + 1800, 12 * 3600),
                                                Period(14 * 3600, 17 * 3600 + 1800)))


@dataclass(frozen=True)
class Resolved:
    jurisdictions: dict[str, Jurisdiction]
    departments: dict[str, Department]
    officers: dict[str, Officer]
    hours: dict[str, HoursSet]
    shifts: tuple[Shift, ...]
    calendar: dict[int, CalendarYear]


def _known(rep: Reporter, ref: Ref, known: dict, what: str) -> bool:
    value, node = ref
    if value in known:
        return True
    error(rep, node, f"unknown {what} {value!r}{suggest(value, list(known))}")
    return False


def resolve(rep: Reporter, d: Drafts) -> Resolved:
    jurisdictions = {j.id: Jurisdiction(j.id, j.name, j.space_name, i)
                     for i, j in enumerate(d.jurisdictions.values())}
    hours = {"default": BUILTIN_DEFAULT} | {name: h.hours for name, h in d.hours.items()}

    # A set may name its departments, so a hotline's hours can be assigned from hours.yaml.
    assigned: dict[str, Ref] = {}
    for name, draft in d.hours.items():
        for ref in draft.departments:
            if not _known(rep, ref, d.departments, "department"):
                continue
            if ref[0] in assigned:
                error(rep, ref[1], f"department {ref[0]!r} already uses working_hours "
                                   f"{assigned[ref[0]][0]!r} ({assigned[ref[0]][1].where})")
                continue
            assigned[ref[0]] = (name, ref[1])

    officers: dict[str, Officer] = {}
    for o in d.officers.values():
        if o.departments is None:
            depts = tuple(d.departments)
        else:
            depts = tuple(dict.fromkeys(r[0] for r in o.departments
                                        if _known(rep, r, d.departments, "department")))
        officers[o.mxid] = Officer(o.mxid, o.alias, depts)

    departments: dict[str, Department] = {}
    for order, dd in enumerate(d.departments.values()):
        if dd.jurisdiction is not None:
            _known(rep, dd.jurisdiction, jurisdictions, "jurisdiction")
        hours_name = "default"
        if dd.hours is not None:
            if _known(rep, dd.hours, hours, "working_hours"):
                hours_name = dd.hours[0]
            other = assigned.get(dd.id)
            if other is not None and other[0] != dd.hours[0]:
                error(rep, dd.hours[1], f"conflicts with working_hours {other[0]!r} which lists "
                                        f"this department at {other[1].where}")
        elif dd.id in assigned:
            hours_name = assigned[dd.id][0]
        mine = tuple(o for o in officers.values() if dd.id in o.departments)
        seen: dict[str, Officer] = {}
        for o in mine:
            if o.alias and o.alias in seen:
                error(rep, d.officers[o.mxid].alias_node,
                      f"alias {o.alias!r} is already used in department {dd.id!r} by "
                      f"{seen[o.alias].mxid} ({d.officers[seen[o.alias].mxid].alias_node.where})")
            seen.setdefault(o.alias, o)
        v = dd.values
        departments[dd.id] = Department(
            id=dd.id, name=str(v.get("name") or ""),
            short_name=str(v.get("short_name") or v.get("name") or ""),
            category=str(v.get("category") or ""),
            jurisdiction=dd.jurisdiction[0] if dd.jurisdiction else "",
            email=str(v.get("email") or ""), description=str(v.get("description") or ""),
            order=order,
            hours=hours_name, supervisors=v["supervisors"], officers=mine,  # type: ignore[arg-type]
            show_citizen_id=bool(v.get("show_citizen_id", False)),
            sign_replies_with_alias=bool(v.get("sign_replies_with_alias", True)),
            avatar=str(v["avatar"]) if v.get("avatar") else None)

    shifts = []
    for s in d.shifts:
        if not _known(rep, s.department, departments, "department"):
            continue
        dept = s.department[0]

        def member(ref: Ref, dept: str = dept) -> Officer | None:
            if not _known(rep, ref, officers, "officer"):
                return None
            if dept not in officers[ref[0]].departments:
                error(rep, ref[1], f"{ref[0]} is not an officer of department {dept!r}; add it "
                                   "to the officer's departments")
                return None
            return officers[ref[0]]

        crew = tuple(o for r in s.officers if (o := member(r)) is not None)
        rotation = None
        if s.rotation is not None:
            groups = tuple(tuple(o for r in g if (o := member(r)) is not None)
                           for g in s.rotation.groups)
            rotation = Rotation(s.rotation.anchor, s.rotation.every_days, groups)
        shifts.append(Shift(dept, s.name, s.days, s.dates, s.period, crew, rotation, s.any_day,
                            s.valid_from, s.valid_until, f"{s.node.file}:{s.node.line}"))

    calendar = {y: CalendarYear(y, tuple(sorted(c.holidays)), tuple(sorted(c.workdays)),
                                c.provisional) for y, c in sorted(d.calendar.items())}
    return Resolved(jurisdictions, departments, officers, hours, tuple(shifts), calendar)
