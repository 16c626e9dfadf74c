"""Who may send notices, to which jurisdictions, and which departments a recipient spec means.

Administrators (config `admins`) act everywhere. `notices.senders` lists people who may send:
a bare Matrix ID acts everywhere, `{mxid: ..., jurisdiction: hz}` only in one jurisdiction.
`notices.sender_departments` names departments (e.g. 办公厅, `bgt`) whose officers and
supervisors may send within their department's jurisdiction. Reading a notice's receipts,
editing and recalling it need the same right over every jurisdiction it went to.
"""

from __future__ import annotations

from typing import Any

ALL = "*"


def sender_scope(config: Any, roster: Any, mxid: str) -> set[str]:
    """The jurisdictions `mxid` may send to ({ALL}: every one; empty: not a sender)."""
    if mxid in (config["admins"] or []):
        return {ALL}
    scope: set[str] = set()
    for entry in config.get("notices.senders", []) or []:
        if isinstance(entry, str) and entry == mxid:
            return {ALL}
        if isinstance(entry, dict) and entry.get("mxid") == mxid:
            jurisdiction = str(entry.get("jurisdiction") or ALL)
            if jurisdiction == ALL:
                return {ALL}
            scope.add(jurisdiction)
    for dept_id in config.get("notices.sender_departments", []) or []:
        dept = roster.departments.get(dept_id)
        if dept is not None and (roster.is_officer_of(mxid, dept_id) or mxid in dept.supervisors):
            scope.add(dept.jurisdiction)
    return scope


def covers(scope: set[str], jurisdictions: set[str]) -> bool:
    return ALL in scope or jurisdictions <= scope


def jurisdictions_of(roster: Any, dept_ids: list[str] | set[str]) -> set[str]:
    return {roster.departments[d].jurisdiction for d in dept_ids if d in roster.departments}


class RecipientError(ValueError):
    pass


def resolve(roster: Any, spec: str, scope: set[str]) -> list[str]:
    """Department ids for a recipient spec, within the sender's scope:
    `全部`/`all` (every department the sender may reach), a jurisdiction (id or name), a category
    (组成部门, 直属机构 …) optionally with `@jurisdiction`, or department ids separated by
    commas or spaces. RecipientError (its text for the sender) when nothing or too much matches."""
    spec = spec.strip()
    depts = list(roster.departments.values())
    reachable = [d for d in depts if ALL in scope or d.jurisdiction in scope]
    if spec.lower() in ("all", "全部", "所有", "全部部门"):
        chosen = reachable
    else:
        jur = _jurisdiction(roster, spec)
        category, _, where = spec.partition("@")
        categories = {d.category for d in depts if d.category}
        if jur is not None:
            if not covers(scope, {jur}):
                raise RecipientError(f"scope:{roster.jurisdictions[jur].name}")
            chosen = [d for d in depts if d.jurisdiction == jur]
        elif category.strip() in categories:
            in_jur = _jurisdiction(roster, where) if where else None
            if where and in_jur is None:
                raise RecipientError(f"unknown:{where}")
            if in_jur is not None and not covers(scope, {in_jur}):
                raise RecipientError(f"scope:{roster.jurisdictions[in_jur].name}")
            chosen = [d for d in reachable if d.category == category.strip()
                      and (in_jur is None or d.jurisdiction == in_jur)]
        else:
            ids = [x for x in spec.replace("，", ",").replace("、", ",").replace(",", " ").split() if x]
            unknown = [x for x in ids if x not in roster.departments]
            if unknown:
                raise RecipientError("unknown:" + ", ".join(unknown))
            outside = [x for x in ids if not covers(scope, {roster.departments[x].jurisdiction})]
            if outside:
                raise RecipientError("scope:" + ", ".join(outside))
            chosen = [roster.departments[x] for x in dict.fromkeys(ids)]
    if not chosen:
        raise RecipientError("empty:" + spec)
    order = {j.id: j.order for j in roster.jurisdictions.values()}
    return [d.id for d in sorted(chosen, key=lambda d: (order.get(d.jurisdiction, 0), d.order, d.id))]


def _jurisdiction(roster: Any, text: str) -> str | None:
    text = text.strip()
    for jur in roster.jurisdictions.values():
        if text in (jur.id, jur.name):
            return str(jur.id)
    return None
