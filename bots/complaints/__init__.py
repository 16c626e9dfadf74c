"""Supervision complaints (监督投诉), sent to the supervision office only."""

from .bot import ComplaintsBot

__all__ = ["ComplaintsBot"]
