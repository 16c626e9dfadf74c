"""Column types that differ between SQLite and PostgreSQL, for every migration in the project."""

from mautrix.util.async_db import Scheme


def serial_primary_key(scheme: Scheme) -> str:
    """An ever-increasing integer key: the order in which rows were written."""
    return "INTEGER PRIMARY KEY AUTOINCREMENT" if scheme == Scheme.SQLITE else "BIGSERIAL PRIMARY KEY"
