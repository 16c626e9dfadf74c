"""Reading YAML with positions: every value is wrapped with its file, dotted path and location."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, SequenceNode
from ruamel.yaml.nodes import Node as YamlNode

from .errors import Reporter


@dataclass(frozen=True)
class Node:
    """A loaded value plus where it came from; line and col are 1-based."""

    value: Any
    file: str
    path: str
    line: int
    col: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def sub(self, suffix: str) -> str:
        if suffix.startswith("["):
            return self.path + suffix
        return f"{self.path}.{suffix}" if self.path else suffix

    def child(self, key: Any) -> Node:
        line, col = _pos(self.value.lc.value(key), self)
        inner = self.value[key]
        # A nested collection's own position is its first entry, which reads better than the
        # spot just after the colon.
        if hasattr(inner, "lc") and inner:
            line, col = inner.lc.line + 1, inner.lc.col + 1
        return Node(inner, self.file, self.sub(str(key)), line, col)

    def key_pos(self, key: Any) -> tuple[int, int]:
        return _pos(self.value.lc.key(key), self)

    def items(self) -> Iterator[Node]:
        for i, inner in enumerate(self.value):
            line, col = _pos(self.value.lc.item(i), self)
            if hasattr(inner, "lc") and inner:
                line, col = inner.lc.line + 1, inner.lc.col + 1
            yield Node(inner, self.file, self.sub(f"[{i}]"), line, col)


def _pos(lc: Any, parent: Node) -> tuple[int, int]:
    try:
        return lc[0] + 1, lc[1] + 1
    except (TypeError, IndexError):
        return parent.line, parent.col


def error(rep: Reporter, node: Node, message: str, field: str | None = None) -> None:
    rep.add(node.file, node.line, node.col, node.path if field is None else field, message)


def suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_file(path: Path | str, rep: Reporter) -> Node | None:
    """Parse one roster file; syntax errors and duplicate keys become problems."""
    name = str(path)
    if Path(path).is_dir():
        rep.add(name, 1, 1, "file", "a folder with no roster files (*.yaml, *.yml) in it")
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        rep.add(name, 1, 1, "file", f"cannot read roster file: {exc}")
        return None
    try:
        # The composed node tree is walked by hand so that every duplicate key is reported,
        # where ruamel's own DuplicateKeyError would stop at the first one.
        _report_duplicates(YAML().compose(text), name, "", rep)
        yaml = YAML()
        yaml.allow_duplicate_keys = True
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        rep.add(name, line, col, "yaml", f"YAML syntax error: {message}")
        return None
    return Node(data, name, "", 1, 1)


def _report_duplicates(node: YamlNode | None, file: str, path: str, rep: Reporter) -> None:
    if isinstance(node, MappingNode):
        seen: dict[Any, YamlNode] = {}
        for key, value in node.value:
            label = key.value if isinstance(key.value, str) else "?"
            sub = f"{path}.{label}" if path else label
            if label in seen:
                first = seen[label].start_mark
                rep.add(file, key.start_mark.line + 1, key.start_mark.column + 1, sub,
                        f"duplicate key {label!r} (first at line {first.line + 1})")
            else:
                seen[label] = key
            _report_duplicates(value, file, sub, rep)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _report_duplicates(item, file, f"{path}[{i}]", rep)
