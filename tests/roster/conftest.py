"""Helpers for roster tests: write YAML snippets to temporary files and load them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.roster import Roster, RosterError, load_roster

from .base import BASE

Writer = Callable[..., list[Path]]


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """write(text, more_text, ...) -> paths; each text is dedented into its own file."""
    def _write(*texts: str) -> list[Path]:
        paths = []
        for i, text in enumerate(texts):
            path = tmp_path / f"r{i}.yaml"
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
            paths.append(path)
        return paths
    return _write


@pytest.fixture
def roster(write: Writer) -> Callable[..., Roster]:
    """roster(extra_yaml, ...) -> a Roster from BASE plus the extra files."""
    def _roster(*extra: str) -> Roster:
        return load_roster(write(BASE, *extra))
    return _roster


@pytest.fixture
def problems(write: Writer) -> Callable[..., list[str]]:
    """problems(text, ...) -> the problems as strings (empty when the roster loads)."""
    def _problems(*texts: str) -> list[str]:
        try:
            load_roster(write(*texts))
        except RosterError as exc:
            return [str(p) for p in exc.problems]
        return []
    return _problems
