"""Cross-references between sections, checked once every file has been read."""

from __future__ import annotations

from dataclasses import dataclass, replace

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


def _jurisdictions(rep: Reporter, d: Drafts, hours: dict[str, HoursSet]
                   ) -> dict[str, Jurisdiction]:
    """Jurisdictions with their parents checked: known, and no jurisdiction its own ancestor."""
    found: dict[str, Jurisdiction] = {}
    for i, j in enumerate(d.jurisdictions.values()):
        parent = None
        if j.parent is not None and _known(rep, j.parent, d.jurisdictions, "jurisdiction"):
            parent = j.parent[0]
        hours_name = None
        if j.hours is not None and _known(rep, j.hours, hours, "working_hours"):
            hours_name = j.hours[0]
        v = j.values
        found[j.id] = Jurisdiction(
            j.id, j.name, j.space_name, i, parent=parent, topic=str(v.get("topic") or ""),
            admins=v.get("admins") or (), supervisors=v.get("supervisors") or (),  # type: ignore[arg-type]
            hours=hours_name, supervision_name=str(v.get("supervision_name") or ""),
            supervision_email=str(v.get("supervision_email") or ""),
            mailbox_name=str(v.get("mailbox_name") or ""),
            mailbox_email=str(v.get("mailbox_email") or ""),
            holidays=v.get("holidays") or (), workdays=v.get("workdays") or ())  # type: ignore[arg-type]
    for j in d.jurisdictions.values():
        seen, at = {j.id}, found[j.id].parent
        while at is not None:
            if at in seen:
                assert j.parent is not None
                error(rep, j.parent[1], f"jurisdiction {j.id!r} is its own ancestor through "
                                        f"parent {j.parent[0]!r}")
                found[j.id] = replace(found[j.id], parent=None)
                break
            seen.add(at)
            at = found[at].parent
    return found


def _inherited(jurisdictions: dict[str, Jurisdiction], jid: str, attr: str) -> object:
    """The first jurisdiction up the chain from `jid` that sets `attr`."""
    seen: set[str] = set()
    while jid in jurisdictions and jid not in seen:
        seen.add(jid)
        value = getattr(jurisdictions[jid], attr)
        if value:
            return value
        jid = jurisdictions[jid].parent or ""
    return None


def resolve(rep: Reporter, d: Drafts) -> Resolved:
    hours = {"default": BUILTIN_DEFAULT} | {name: h.hours for name, h in d.hours.items()}
    jurisdictions = _jurisdictions(rep, d, hours)

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
        elif dd.jurisdiction is not None:
            hours_name = _inherited(jurisdictions, dd.jurisdiction[0], "hours") or "default"
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
            hours=hours_name, officers=mine,
            supervisors=v["supervisors"] or (  # type: ignore[arg-type]
                _inherited(jurisdictions, dd.jurisdiction[0], "supervisors") if dd.jurisdiction
                else ()) or (),
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
