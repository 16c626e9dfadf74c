"""load_roster: read every file, merge the sections, validate, and build the Roster."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from .drafts import Drafts
from .errors import Reporter, RosterError
from .fields import check_keys
from .parse_cal import parse_calendar, parse_example_data, parse_timezone
from .parse_org import parse_departments, parse_jurisdictions, parse_officers
from .parse_sched import parse_hours, parse_shifts
from .resolve import resolve
from .roster import Roster
from .source import Node, error, load_file

DEFAULT_TIMEZONE = "Asia/Shanghai"

Parser = Callable[[Reporter, Node, Drafts], None]
SECTIONS: dict[str, Parser] = {
    "example_data": parse_example_data,
    "timezone": parse_timezone,
    "jurisdictions": parse_jurisdictions,
    "working_hours": parse_hours,
    "departments": parse_departments,
    "officers": parse_officers,
    "shifts": parse_shifts,
    "calendar": parse_calendar,
}


def load_roster(paths: Sequence[Path | str]) -> Roster:
    """Load a roster from files whose sections are merged in the given order.

    Raises RosterError listing every problem found; nothing is half-applied.
    """
    rep = Reporter()
    drafts = Drafts()
    if not paths:
        rep.add("<roster>", 1, 1, "files", "no roster files given")
    for path in paths:
        root = load_file(path, rep)
        if root is None or root.value is None:
            continue  # unreadable (already reported) or empty
        if not isinstance(root.value, dict):
            error(rep, root, "a roster file must be a mapping of sections, e.g. departments: [...]",
                  "file")
            continue
        fields = check_keys(rep, root, tuple(SECTIONS)) or {}
        for key, parser in SECTIONS.items():
            if key in fields and fields[key].value is not None:
                parser(rep, fields[key], drafts)
    model = resolve(rep, drafts)
    if rep.problems:
        raise RosterError(rep.sorted())
    zone = ZoneInfo(drafts.timezone[0] if drafts.timezone else DEFAULT_TIMEZONE)
    return Roster(zone, drafts.example_data, model)
