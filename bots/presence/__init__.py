"""Presence: a department's account shows online while someone is on duty, and when it opens."""

from .bot import PresenceBot

__all__ = ["PresenceBot"]
