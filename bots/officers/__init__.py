"""Officers' rooms: an invite-only room per staffed department (others get one on demand, when a
citizen writes to them), whose members follow the roster."""

from .bot import OfficersBot

__all__ = ["OfficersBot"]
