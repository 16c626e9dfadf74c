"""Located roster problems: every error names the file, line, column and field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based
    column: int  # 1-based
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field}: {self.message}"


class RosterError(Exception):
    """Raised by load_roster with every problem found, so one edit can fix them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class Reporter:
    """Collects problems instead of raising, so validation can continue past the first one."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, line: int, column: int, field: str, message: str) -> None:
        self.problems.append(Problem(file, line, column, field, message))

    def sorted(self) -> list[Problem]:
        # Files keep the caller's order; within a file, reading order is easiest to fix.
        order: dict[str, int] = {}
        for p in self.problems:
            order.setdefault(p.file, len(order))
        return sorted(self.problems, key=lambda p: (order[p.file], p.line, p.column))
