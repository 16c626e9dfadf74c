"""What every command-line tool (`python -m bridge roster|report|audit|…`) does first: parse its
arguments, make sure the bridge's config is there, and run its coroutine."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path


def config_args(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | None:
    """The parsed arguments, or None (the reason on stderr) when `--config` names no file."""
    args = parser.parse_args(list(argv))
    if not Path(args.config).exists():
        print(f"No config at {args.config} (give the bridge's with -c).", file=sys.stderr)
        return None
    return args


def run_tool(parser: argparse.ArgumentParser,
             run: Callable[[argparse.Namespace], Awaitable[int]], argv: Sequence[str]) -> int:
    """Exit code 2 without a config, else the tool's own."""
    args = config_args(parser, argv)
    return 2 if args is None else asyncio.run(run(args))  # type: ignore[arg-type]
