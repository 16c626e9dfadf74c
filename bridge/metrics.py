"""Prometheus metrics of the runtime (served when `metrics.enabled` is true)."""

from prometheus_client import Counter

EVENTS_STORED = Counter("dutyroom_inbox_stored_total", "Events stored in the durable inbox")
EVENTS_PROCESSED = Counter("dutyroom_inbox_processed_total", "Events handled by the bots")
DEAD_LETTERS = Counter("dutyroom_dead_letters_total", "Events given up on", ["reason"])
MESSAGES_SENT = Counter("dutyroom_outbox_sent_total", "Messages delivered to the homeserver")
SEND_RETRIES = Counter("dutyroom_outbox_retries_total", "Transient send failures retried")
SENDS_FAILED = Counter("dutyroom_outbox_failed_total", "Messages given up on")
