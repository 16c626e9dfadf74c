"""E-mail transport: a durable SMTP outbox and a reply listener, for letters and complaints."""

from .compose import OutgoingMail
from .inbound import InboundMail
from .sanitise import sanitise_html
from .settings import MailSettings
from .tokens import ReplyTokens
from .transport import MailTransport
from .upgrade import mail_upgrade_table

__all__ = [
    "InboundMail",
    "MailSettings",
    "MailTransport",
    "OutgoingMail",
    "ReplyTokens",
    "mail_upgrade_table",
    "sanitise_html",
]
