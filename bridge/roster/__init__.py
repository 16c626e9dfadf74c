"""The duty-roster engine: YAML roster files -> a validated, precomputed model -> queries.

Pure and synchronous; nothing here talks to Matrix. See docs/roster.md for the file format.
"""

from .errors import Problem, RosterError
from .loader import load_roster
from .model import Department, HoursSet, Jurisdiction, Officer, Shift
from .roster import Roster

__all__ = [
    "Department",
    "HoursSet",
    "Jurisdiction",
    "Officer",
    "Problem",
    "Roster",
    "RosterError",
    "Shift",
    "load_roster",
]
