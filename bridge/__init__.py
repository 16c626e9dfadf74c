"""The runtime of the duty-room bridge: appservice endpoint, durable inbox/outbox, bot host."""
