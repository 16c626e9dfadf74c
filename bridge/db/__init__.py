"""The runtime's tables: one small module per table."""

from .dead_letter import DeadLetterTable
from .inbox import InboxEvent, InboxTable
from .outbox import OutboxItem, OutboxTable
from .upgrade import upgrade_table

__all__ = [
    "DeadLetterTable",
    "InboxEvent",
    "InboxTable",
    "OutboxItem",
    "OutboxTable",
    "upgrade_table",
]
