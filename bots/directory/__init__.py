"""The directory: a space per jurisdiction, a read-only room and a ghost user per department."""

from .bot import DirectoryBot

__all__ = ["DirectoryBot"]
