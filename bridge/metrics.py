"""Prometheus metrics of the runtime (served when `metrics.enabled` is true)."""

from prometheus_client import Counter, Gauge

EVENTS_STORED = Counter("dutyroom_inbox_stored_total", "Events stored in the durable inbox")
EVENTS_PROCESSED = Counter("dutyroom_inbox_processed_total", "Events handled by the bots")
DEAD_LETTERS = Counter("dutyroom_dead_letters_total", "Events given up on", ["reason"])
MESSAGES_SENT = Counter("dutyroom_outbox_sent_total", "Messages delivered to the homeserver")
SEND_RETRIES = Counter("dutyroom_outbox_retries_total", "Transient send failures retried")
SENDS_FAILED = Counter("dutyroom_outbox_failed_total", "Messages given up on")
# Alert on this being above zero: each one waits for an administrator (`dead-letters list`).
# kind: malformed (pushed, unreadable), inbox (a handler kept failing), outbox (a send given up).
DEAD_LETTERS_UNRESOLVED = Gauge(
    "dutyroom_dead_letters_unresolved", "Dead letters not yet retried or discarded", ["kind"]
)
