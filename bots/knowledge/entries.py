"""Knowledge-base entries: Markdown files with a YAML header, read and checked like rosters.

A folder next to the roster holds one sub-folder per department (`<dept_id>/*.md`) and shared
entries per jurisdiction (`_shared/<jurisdiction_id>/*.md`), plus an optional `synonyms.yaml`.
Every problem names its file and line (bridge/roster/errors.py), and loading is all or nothing,
so a bad edit never replaces the entries in force (see watcher.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from bridge.roster import Roster
from bridge.roster.errors import Reporter, RosterError
from bridge.roster.source import Node, suggest

SHARED = "_shared"
SYNONYMS_FILE = "synonyms.yaml"
KEYS = ("title", "keywords", "valid_from", "review_by", "owner", "example_data")
REQUIRED = ("title", "keywords", "review_by")


class KnowledgeError(RosterError):
    """Every problem of a knowledge folder, located like a roster problem."""


@dataclass(frozen=True)
class Entry:
    id: str            # "<dept or _shared/jurisdiction>/<file stem>", stable across edits
    title: str
    keywords: tuple[str, ...]
    text: str          # the Markdown body, as the citizen reads it
    file: str
    dept_id: str | None          # the folder's department, None for shared entries
    jurisdiction: str | None     # for shared entries
    owner: str                   # the department whose supervisors keep it current
    valid_from: date | None
    review_by: date
    example_data: bool = False

    def excerpt(self, length: int = 60) -> str:
        flat = " ".join(line.strip("# >*-") for line in self.text.splitlines() if line.strip())
        return flat if len(flat) <= length else flat[:length] + "…"

    def full_text(self) -> str:
        return f"【{self.title}】\n{self.text.strip()}"

    def live(self, day: date) -> bool:
        return self.valid_from is None or self.valid_from <= day


@dataclass
class Knowledge:
    """Every entry of a folder and the synonym groups, as validated together."""

    entries: dict[str, Entry] = field(default_factory=dict)
    synonyms: list[tuple[str, ...]] = field(default_factory=list)
    digest: str = ""
    # Problems of the files left out, when loaded with strict=False (at start-up).
    problems: list[Any] = field(default_factory=list)

    def for_department(self, dept_id: str, roster: Roster) -> list[Entry]:
        """A department's own entries and its jurisdiction's shared ones."""
        dept = roster.departments.get(dept_id)
        place = dept.jurisdiction if dept else None
        return [e for e in self.entries.values()
                if e.dept_id == dept_id or (e.dept_id is None and e.jurisdiction == place)]

    def overdue(self, day: date) -> dict[str, list[Entry]]:
        """Entries past their review date, by owning department."""
        found: dict[str, list[Entry]] = {}
        for entry in sorted(self.entries.values(), key=lambda e: (e.review_by, e.id)):
            if entry.review_by < day:
                found.setdefault(entry.owner, []).append(entry)
        return found


def entry_files(folder: Path) -> list[Path]:
    """The folder's entry files in a stable order (what the watcher hashes and the loader reads)."""
    files = sorted(p for p in folder.rglob("*.md") if p.is_file() and not p.name.startswith("."))
    synonyms = folder / SYNONYMS_FILE
    return ([synonyms] if synonyms.exists() else []) + files


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(header YAML, body, line where the body starts), or None without a `---` header.
    The header is returned with a leading blank line so YAML positions are file lines."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n" + "\n".join(lines[1:i]) + "\n", "\n".join(lines[i + 1:]), i + 2
    return None


def _yaml(text: str, name: str, rep: Reporter) -> Any:
    yaml = YAML()
    # Dates stay text until _date checks them, so '2027-13-01' is a located problem rather
    # than a ValueError from inside the YAML reader.
    yaml.constructor.add_constructor(
        "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        rep.add(name, line, col, "yaml", f"YAML syntax error: {message}")
        return None


def _date(rep: Reporter, node: Node) -> date | None:
    value = node.value
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        rep.add(node.file, node.line, node.col, node.path, f"expected a date like 2027-06-30, got {value!r}")
        return None


def _strings(rep: Reporter, node: Node) -> tuple[str, ...]:
    if not isinstance(node.value, list) or not node.value:
        rep.add(node.file, node.line, node.col, node.path,
                "expected a list of words, e.g. [身份证, 补办, 挂失]")
        return ()
    words = []
    for item in node.items():
        value = item.value
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # 12315, 12345: hotline numbers are words here
        if not isinstance(value, str) or not value.strip():
            rep.add(item.file, item.line, item.col, item.path, "expected a non-empty word")
        else:
            words.append(value.strip())
    return tuple(words)


def parse_entry(path: Path, label: str, rep: Reporter, roster: Roster,
                dept_id: str | None, jurisdiction: str | None) -> Entry | None:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        rep.add(name, 1, 1, "file", f"cannot read entry file: {exc}")
        return None
    parts = split_front_matter(text)
    if parts is None:
        rep.add(name, 1, 1, "header", "an entry starts with a YAML header between two '---' lines "
                                      "(title, keywords, review_by, …)")
        return None
    header, body, body_line = parts
    data = _yaml(header, name, rep)
    if data is None and not rep.problems:
        data = {}
    if data is None:
        return None
    root = Node(data, name, "", 2, 1)
    if not isinstance(data, dict):
        rep.add(name, 2, 1, "header", "the header must be a mapping such as 'title: 身份证补领'")
        return None
    before = len(rep.problems)
    for key in data:
        if key not in KEYS:
            line, col = root.key_pos(key)
            rep.add(name, line, col, str(key), f"unknown field{suggest(str(key), KEYS)}; "
                                                f"allowed: {', '.join(KEYS)}")
    missing = [key for key in REQUIRED if key not in data]
    for key in missing:
        rep.add(name, 2, 1, key, f"missing required field {key!r}")
    if missing:
        return None
    title_node = root.child("title")
    title = str(title_node.value or "").strip()
    if not title:
        rep.add(name, title_node.line, title_node.col, "title", "the title must not be empty")
    keywords = _strings(rep, root.child("keywords"))
    review_by = _date(rep, root.child("review_by"))
    valid_from = _date(rep, root.child("valid_from")) if data.get("valid_from") is not None else None
    if valid_from and review_by and review_by < valid_from:
        node = root.child("review_by")
        rep.add(name, node.line, node.col, "review_by", f"review_by {review_by} is before valid_from {valid_from}")
    owner = dept_id
    if "owner" in data:
        node = root.child("owner")
        owner = str(node.value or "").strip()
        if owner not in roster.departments:
            rep.add(name, node.line, node.col, "owner", f"unknown department {owner!r}"
                    f"{suggest(owner, list(roster.departments))} (owner names the department whose "
                    "supervisors keep this entry current)")
    elif dept_id is None:
        rep.add(name, 2, 1, "owner", "a shared entry names its owning department, e.g. owner: bgt")
    if not body.strip():
        rep.add(name, body_line, 1, "text", "the entry has no text below its header")
    if len(rep.problems) > before or review_by is None or owner is None:
        return None
    return Entry(id=f"{label}/{path.stem}", title=title, keywords=keywords, text=body.strip(),
                 file=name, dept_id=dept_id, jurisdiction=jurisdiction, owner=owner,
                 valid_from=valid_from, review_by=review_by,
                 example_data=bool(data.get("example_data", False)))


def parse_synonyms(path: Path, rep: Reporter) -> list[tuple[str, ...]]:
    """synonyms.yaml: `synonyms: [[身份证, 居民身份证, 身份证件], ...]`: each group's words
    stand for each other in a search."""
    name = str(path)
    try:
        data = _yaml(path.read_text(encoding="utf-8"), name, rep)
    except (OSError, UnicodeDecodeError) as exc:
        rep.add(name, 1, 1, "file", f"cannot read: {exc}")
        return []
    if data is None:
        return []
    root = Node(data, name, "", 1, 1)
    if not isinstance(data, dict) or set(data) != {"synonyms"}:
        rep.add(name, 1, 1, "synonyms", "expected one key, synonyms: a list of word groups")
        return []
    node = root.child("synonyms")
    if not isinstance(node.value, list):
        rep.add(name, node.line, node.col, "synonyms", "expected a list of word groups")
        return []
    groups = []
    for item in node.items():
        words = _strings(rep, item)
        if len(words) == 1:
            rep.add(item.file, item.line, item.col, item.path, "a group needs at least two words")
        elif words:
            groups.append(words)
    return groups


def load_knowledge(folder: Path | str, roster: Roster, files: Iterable[Path] | None = None,
                   *, strict: bool = True) -> Knowledge:
    """Read and check a knowledge folder against the roster; raises KnowledgeError with every
    problem found, and nothing is half-applied. With strict=False (a start-up, when no older
    entries are in force to keep) the files without problems are loaded and the problems
    returned in `problems`, so one broken file does not take the whole base away."""
    folder = Path(folder)
    rep = Reporter()
    knowledge = Knowledge()
    if not folder.is_dir():
        rep.add(str(folder), 1, 1, "folder", "the knowledge folder does not exist")
        raise KnowledgeError(rep.sorted())
    titles: dict[tuple[str, str], str] = {}
    for path in files if files is not None else entry_files(folder):
        if path.name == SYNONYMS_FILE and path.parent == folder:
            knowledge.synonyms = parse_synonyms(path, rep)
            continue
        rel = path.relative_to(folder).parts
        dept_id = jurisdiction = None
        if len(rel) == 3 and rel[0] == SHARED:
            jurisdiction, label = rel[1], f"{SHARED}/{rel[1]}"
            if jurisdiction not in roster.jurisdictions:
                rep.add(str(path), 1, 1, "folder", f"unknown jurisdiction {jurisdiction!r}"
                        f"{suggest(jurisdiction, list(roster.jurisdictions))}")
                continue
        elif len(rel) == 2 and rel[0] != SHARED:
            dept_id = label = rel[0]
            if dept_id not in roster.departments:
                rep.add(str(path), 1, 1, "folder", f"unknown department folder {dept_id!r}"
                        f"{suggest(dept_id, list(roster.departments))}")
                continue
        else:
            rep.add(str(path), 1, 1, "folder", "entries live in <department id>/ or "
                    f"{SHARED}/<jurisdiction id>/ of the knowledge folder")
            continue
        entry = parse_entry(path, label, rep, roster, dept_id, jurisdiction)
        if entry is None:
            continue
        scope = (label, entry.title)
        if scope in titles:
            rep.add(entry.file, 2, 1, "title", f"the same title as {titles[scope]} in this folder")
            continue
        titles[scope] = entry.file
        knowledge.entries[entry.id] = entry
    if rep.problems and (strict or not folder.is_dir()):
        raise KnowledgeError(rep.sorted())
    knowledge.problems = rep.sorted()
    return knowledge
