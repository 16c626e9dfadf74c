"""The bots that live on the bridge runtime. Each is readable on its own through bridge.bot."""

from bridge.bot import Bot

from .admin import AdminBot
from .assessment.bot import AssessmentBot
from .complaints import ComplaintsBot
from .consultation import ConsultationBot
from .directory import DirectoryBot
from .knowledge import KnowledgeBot
from .mailbox import MailboxBot
from .notices import NoticesBot
from .officers import OfficersBot
from .presence import PresenceBot
from .privacy import PrivacyBot
from .web import WebBot

# Order matters at start-up: the directory's ghosts exist before the officers' rooms invite them.
ALL_BOTS: list[type[Bot]] = [
    DirectoryBot, OfficersBot, AdminBot, ConsultationBot, MailboxBot, ComplaintsBot, PresenceBot,
    # After the officers bot: a notice goes to the officers' rooms it keeps.
    NoticesBot,
    KnowledgeBot,
    PrivacyBot,
    AssessmentBot,  # after the consultation bot: its handler counts 热点 of the cases opened
    WebBot,  # last: its pages read the rooms the directory made
]
