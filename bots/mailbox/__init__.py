"""Letters to the governor, the vice-governors and department mailboxes; the shared letter flow."""

from .bot import MailboxBot

__all__ = ["MailboxBot"]
