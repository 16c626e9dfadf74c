"""Notices with receipts (政府版): meeting and work notices to officers' rooms, staff spaces."""

from .bot import NoticesBot

__all__ = ["NoticesBot"]
