"""The administrators' room: roster errors and calendar warnings reach the people who fix them."""

from .bot import AdminBot

__all__ = ["AdminBot"]
