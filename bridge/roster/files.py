"""Which files a roster is read from: paths, globs and folders, as config and CLI name them."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path


def roster_files(patterns: Sequence[str], base: Path) -> list[Path]:
    """Roster files named by paths, globs or folders (a folder: its *.yaml and *.yml files,
    in name order, since an administrator naturally names the roster's folder)."""
    files: list[Path] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        matches = sorted(glob.glob(full))
        if not matches and not glob.has_magic(full):
            matches = [full]  # a missing plain file is reported by the loader, not skipped
        for match in matches:
            if not os.path.isdir(match):
                files.append(Path(match))
                continue
            inside = sorted(m for m in glob.glob(os.path.join(glob.escape(match), "*"))
                            if m.endswith((".yaml", ".yml")))
            files.extend(Path(m) for m in inside or [match])  # an empty folder: the loader says so
    return files
