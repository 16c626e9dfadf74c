"""The corpus of broken rosters: each file names, in its first line, the one problem it causes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.roster import RosterError, load_roster

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))
EXPECT = re.compile(r"# expect: (\d+):(\d+): (\S+): (.*)")


def test_corpus_is_large_enough():
    assert len(BROKEN) >= 25


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_roster(path: Path):
    header = path.read_text(encoding="utf-8").splitlines()[0]
    match = EXPECT.fullmatch(header)
    assert match, f"{path.name}: first line must be '# expect: LINE:COL: FIELD: MESSAGE'"
    line, col, field, message = int(match[1]), int(match[2]), match[3], match[4]
    with pytest.raises(RosterError) as info:
        load_roster([path])
    assert len(info.value.problems) == 1, str(info.value)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.column, problem.field) == (
        str(path), line, col, field), str(problem)
    assert message in problem.message
    assert str(problem).startswith(f"{path}:{line}:{col}: {field}: ")
