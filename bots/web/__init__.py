"""The public web site: directory, on-duty status, public figures, how to start (issue #19)."""

from .bot import WebBot

__all__ = ["WebBot"]
