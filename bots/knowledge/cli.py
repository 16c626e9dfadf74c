"""`python -m bridge kb check|show|search`: the editors' view of a knowledge folder."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from bridge.roster.cli import default_files
from bridge.roster.errors import RosterError
from bridge.roster.files import roster_files
from bridge.roster.loader import load_roster

from .entries import Knowledge, KnowledgeError, load_knowledge
from .search import Index

DEFAULT_FOLDER = "rosters/example/knowledge"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description="Check, list and search knowledge-base entries.")
    parser.add_argument("--folder", default=DEFAULT_FOLDER, help=f"entries folder (default {DEFAULT_FOLDER})")
    parser.add_argument("--roster", action="append", default=[],
                        help="roster files or folders (default rosters/example/*.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate every entry and the synonyms")
    show = sub.add_parser("show", help="list entries (of a department), or print one in full")
    show.add_argument("what", nargs="?", help="a department id or an entry id such as gat/id-card-replacement")
    search = sub.add_parser("search", help="the best matching entries for a question")
    search.add_argument("question")
    search.add_argument("--dept", help="only this department's (and its jurisdiction's shared) entries")
    search.add_argument("-n", type=int, default=5)
    return parser


def _load(args: argparse.Namespace) -> Knowledge | None:
    try:
        roster = load_roster(roster_files(args.roster or default_files(), Path.cwd()))
    except RosterError as exc:
        print(f"the roster does not load:\n{exc}", file=sys.stderr)
        return None
    args.loaded_roster = roster
    try:
        return load_knowledge(args.folder, roster)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); the knowledge base was not loaded.", file=sys.stderr)
        return None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    knowledge = _load(args)
    if knowledge is None:
        return 1
    if args.command == "check":
        overdue = sum(len(v) for v in knowledge.overdue(date.today()).values())
        depts = {e.dept_id or f"_shared/{e.jurisdiction}" for e in knowledge.entries.values()}
        print(f"OK: {len(knowledge.entries)} entries in {len(depts)} folders, "
              f"{len(knowledge.synonyms)} synonym groups, {overdue} past their review date")
        return 0
    if args.command == "show":
        return _show(knowledge, args.what)
    return _search(knowledge, args)


def _show(knowledge: Knowledge, what: str | None) -> int:
    if what and what in knowledge.entries:
        e = knowledge.entries[what]
        print(f"{e.id}  {e.title}\nfile: {e.file}\nkeywords: {', '.join(e.keywords)}\n"
              f"owner: {e.owner}  valid_from: {e.valid_from or '-'}  review_by: {e.review_by}"
              f"{'  (example data)' if e.example_data else ''}\n\n{e.text}")
        return 0
    chosen = [e for e in knowledge.entries.values()
              if what is None or e.dept_id == what or e.id.startswith(f"{what}/")]
    if what and not chosen:
        print(f"no entry or department {what!r}", file=sys.stderr)
        return 2
    today = date.today()
    for e in sorted(chosen, key=lambda e: e.id):
        late = "  ⚠ review overdue" if e.review_by < today else ""
        print(f"{e.id:45} {e.title}  [review_by {e.review_by}]{late}")
    return 0


def _search(knowledge: Knowledge, args: argparse.Namespace) -> int:
    index = Index(knowledge.entries.values(), knowledge.synonyms)
    allow = None
    if args.dept:
        dept = args.loaded_roster.departments.get(args.dept)
        if dept is None:
            print(f"unknown department {args.dept!r}", file=sys.stderr)
            return 2
        def allow(e):  # noqa: E306
            return e.dept_id == dept.id or (e.dept_id is None and e.jurisdiction == dept.jurisdiction)
    started = time.perf_counter()
    hits = index.search(args.question, args.n, allow=allow)
    took = (time.perf_counter() - started) * 1000
    for n, hit in enumerate(hits, 1):
        print(f"{n}. {hit.entry.title}  ({hit.entry.id}, score {hit.score:.1f})\n   {hit.entry.excerpt()}")
    if not hits:
        print("no matching entry")
    print(f"({took:.1f} ms)")
    return 0
