"""Officers' rooms: one invite-only room per department whose members follow the roster."""

from .bot import OfficersBot

__all__ = ["OfficersBot"]
