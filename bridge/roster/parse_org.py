"""Parsing the organisation sections: jurisdictions, departments and officers."""

from __future__ import annotations

from .drafts import DepartmentDraft, Drafts, JurisdictionDraft, OfficerDraft, Ref
from .errors import Reporter
from .fields import (
    check_keys,
    get_bool,
    get_dates,
    get_email,
    get_id,
    get_image_path,
    get_list,
    get_mxid,
    get_name,
    get_str,
)
from .source import Node, error

# Localparts the bridge uses for its own accounts and rooms besides department ghosts.
RESERVED_IDS = ("bot", "space", "officers", "admins", "mailbox", "complaints", "notices", "staff")
JURISDICTION_KEYS = ("id", "name", "space_name", "parent", "topic", "admins", "supervisors",
                     "hours", "supervision_name", "supervision_email", "mailbox_name",
                     "mailbox_email", "holidays", "workdays")
DEPARTMENT_KEYS = ("id", "name", "short_name", "category", "jurisdiction", "email", "description",
                   "hours", "supervisors", "show_citizen_id", "sign_replies_with_alias", "avatar")
OFFICER_KEYS = ("mxid", "alias", "departments")


def duplicate(rep: Reporter, node: Node, what: str, first: Node) -> None:
    error(rep, node, f"duplicate {what} (first defined at {first.where})")


def parse_jurisdictions(rep: Reporter, section: Node, drafts: Drafts) -> None:
    for item in get_list(rep, section, allow_empty=True) or ():
        fields = check_keys(rep, item, JURISDICTION_KEYS, ("id", "name"))
        if fields is None:
            continue
        jid = get_id(rep, fields["id"], "jurisdiction", RESERVED_IDS) if "id" in fields else None
        name = get_str(rep, fields["name"]) if "name" in fields else None
        space = get_str(rep, fields["space_name"]) if "space_name" in fields else None
        values: dict[str, object] = {}
        for key in ("topic", "supervision_name", "mailbox_name"):
            if key in fields:
                values[key] = get_str(rep, fields[key], max_len=500)
        for key in ("supervision_email", "mailbox_email"):
            if key in fields:
                values[key] = get_email(rep, fields[key])
        for key in ("admins", "supervisors"):
            values[key] = _mxids(rep, fields.get(key))
        for key in ("holidays", "workdays"):  # local calendar overrides (a city's own rest day)
            if key in fields:
                values[key] = tuple(sorted({d for d, _ in get_dates(rep, fields[key]) or ()}))
        parent = _ref_id(rep, fields.get("parent"), "jurisdiction")
        hours = _ref_name(rep, fields.get("hours"), "working_hours")
        if jid is None:
            continue
        # Registered even when other fields are wrong, so references to it do not cascade.
        if jid in drafts.jurisdictions:
            duplicate(rep, fields["id"], f"jurisdiction id {jid!r}", drafts.jurisdictions[jid].node)
            continue
        space = space or f"{name or jid} · 网上值班室"
        drafts.jurisdictions[jid] = JurisdictionDraft(jid, name or "", space, fields["id"], values,
                                                      parent, hours)


def _mxids(rep: Reporter, node: Node | None) -> tuple[str, ...]:
    found: list[str] = []
    for item in (get_list(rep, node, allow_empty=True) or ()) if node is not None else ():
        mxid = get_mxid(rep, item)
        if mxid is not None and mxid not in found:
            found.append(mxid)
    return tuple(found)


def parse_departments(rep: Reporter, section: Node, drafts: Drafts) -> None:
    for item in get_list(rep, section, allow_empty=True) or ():
        fields = check_keys(rep, item, DEPARTMENT_KEYS, ("id", "name", "jurisdiction", "email"))
        if fields is None:
            continue
        values: dict[str, object] = {}
        for key in ("name", "short_name", "category", "description"):
            if key in fields:
                limit = 2000 if key == "description" else 200
                values[key] = get_str(rep, fields[key], max_len=limit)
        if "email" in fields:
            values["email"] = get_email(rep, fields["email"])
        if "avatar" in fields:
            values["avatar"] = get_image_path(rep, fields["avatar"])
        for key in ("show_citizen_id", "sign_replies_with_alias"):
            if key in fields:
                values[key] = get_bool(rep, fields[key])
        values["supervisors"] = _mxids(rep, fields.get("supervisors"))
        jurisdiction = _ref_id(rep, fields.get("jurisdiction"), "jurisdiction")
        hours = _ref_name(rep, fields.get("hours"), "working_hours")
        did = get_id(rep, fields["id"], "department", RESERVED_IDS) if "id" in fields else None
        if did is None:
            continue
        # A department with other errors is still registered, so that officers and shifts
        # naming it do not add misleading "unknown department" errors.
        if did in drafts.departments:
            duplicate(rep, fields["id"], f"department id {did!r}", drafts.departments[did].node)
            continue
        drafts.departments[did] = DepartmentDraft(did, values, fields["id"], jurisdiction, hours)


def _ref_id(rep: Reporter, node: Node | None, what: str) -> Ref | None:
    if node is None:
        return None
    value = get_id(rep, node, what)
    return (value, node) if value is not None else None


def _ref_name(rep: Reporter, node: Node | None, what: str) -> Ref | None:
    if node is None:
        return None
    value = get_name(rep, node, what)
    return (value, node) if value is not None else None


def parse_officers(rep: Reporter, section: Node, drafts: Drafts) -> None:
    for item in get_list(rep, section, allow_empty=True) or ():
        fields = check_keys(rep, item, OFFICER_KEYS, ("mxid", "alias", "departments"))
        if fields is None:
            continue
        mxid = get_mxid(rep, fields["mxid"]) if "mxid" in fields else None
        alias = get_str(rep, fields["alias"], max_len=32) if "alias" in fields else None
        depts: list[Ref] | None = []
        if "departments" in fields:
            node = fields["departments"]
            if node.value == "*":
                depts = None
            elif isinstance(node.value, str):
                error(rep, node, 'expected a list of department ids, or "*" for every department')
            else:
                for ref in get_list(rep, node) or ():
                    dept = _ref_id(rep, ref, "department")
                    if dept is not None and depts is not None:
                        depts.append(dept)
        if mxid is None:
            continue
        if mxid in drafts.officers:
            duplicate(rep, fields["mxid"], f"officer {mxid}", drafts.officers[mxid].node)
            continue
        drafts.officers[mxid] = OfficerDraft(mxid, alias or "", fields["mxid"],
                                             fields.get("alias", fields["mxid"]), depts)
