"""Brings an operator's config up to date with config.example.yaml without touching their text.

mautrix's own update rebuilds the file from the example, which drops the operator's comments.
Here the operator's document is the base: only keys it lacks are added (with a pointer to the
example's documentation), and the file is rewritten only when something was added.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap


def _yaml() -> YAML:
    yaml = YAML()
    yaml.indent(mapping=4, sequence=4, offset=0)
    yaml.width = 200
    yaml.preserve_quotes = True
    return yaml


def _merge(target: CommentedMap, example: CommentedMap, prefix: str, added: list[str]) -> None:
    for key, value in example.items():
        path = f"{prefix}{key}"
        if key not in target:
            target[key] = value
            target.yaml_set_comment_before_after_key(
                key, before="added from config.example.yaml — see its comment there",
                indent=4 * prefix.count("."),
            )
            added.append(path)
        elif isinstance(value, CommentedMap) and isinstance(target[key], CommentedMap):
            if key == "logging":
                continue  # a logging config is the operator's whole; merging keys breaks it
            _merge(target[key], value, f"{path}.", added)


def update_config_file(path: Path, example: Path) -> list[str]:
    """Add the example's missing keys to the config at `path`; returns the dotted keys added."""
    yaml = _yaml()
    with open(path, encoding="utf-8") as stream:
        current = yaml.load(stream) or CommentedMap()
    with open(example, encoding="utf-8") as stream:
        reference = yaml.load(stream)
    added: list[str] = []
    _merge(current, reference, "", added)
    if added:
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            yaml.dump(current, stream)
        os.chmod(tmp, os.stat(path).st_mode & 0o777)
        os.replace(tmp, path)
    return added
