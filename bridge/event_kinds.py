"""What Element lets anyone send in any chat but no bot passes on: polls and stickers.

Element's composer offers a poll in every chat and its sticker picker in some builds; a bot that
receives one tells the sender it was not used (PRODUCT.md: nothing silent) instead of leaving
them waiting for an answer that cannot come. One table, so the consultation relay and the
letter bots name the same kinds.
"""

from __future__ import annotations

from mautrix.types import EventType

# Event type -> the kind's short name (the catalogs' "*.kind_<name>" texts say it to people).
UNSUPPORTED = {EventType.STICKER: "sticker",
               EventType.find("org.matrix.msc3381.poll.start", EventType.Class.MESSAGE): "poll",
               EventType.find("m.poll.start", EventType.Class.MESSAGE): "poll"}
