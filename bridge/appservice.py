"""The appservice HTTP endpoint: authenticate, store every pushed event, then acknowledge.

mautrix's stock handler answers 200 before handlers run and remembers transactions only in
memory; here a transaction is acknowledged only once its events are committed to the inbox.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from mautrix.appservice import AppService

from .db import DeadLetterTable, InboxEvent, InboxTable
from .metrics import DEAD_LETTERS, EVENTS_STORED

log = logging.getLogger("dutyroom.appservice")

UNFILLED_GAPS_BEFORE_GIVING_UP = 3
PUBLIC_PATHS = frozenset({"/_matrix/mau/live", "/_matrix/mau/ready"})


def bearer_token_ok(request: web.Request, hs_token: str) -> bool:
    """Only the Authorization header counts: query-string tokens leak into logs."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), hs_token.encode())


def forbidden() -> web.Response:
    return web.json_response(
        {"errcode": "M_FORBIDDEN", "error": "Missing or wrong hs_token"}, status=403
    )


def token_middleware(get_token: Callable[[], str]) -> Any:
    @web.middleware
    async def check_token(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path not in PUBLIC_PATHS and not bearer_token_ok(request, get_token()):
            log.warning("Refused %s %s: bad or missing hs_token", request.method, request.path)
            return forbidden()
        return await handler(request)

    return check_token


def event_problem(event: Any) -> str | None:
    """Why an event cannot go into the inbox, or None if it can."""
    if not isinstance(event, dict):
        return "event is not an object"
    for key in ("event_id", "room_id", "type", "sender"):
        if not isinstance(event.get(key), str) or not event[key]:
            return f"missing or invalid {key}"
    if not isinstance(event.get("content", {}), dict):
        return "content is not an object"
    return None


class DurableAppService(AppService):
    """An AppService whose transactions go to the durable inbox before they are acknowledged."""

    inbox: InboxTable | None = None
    dead_letters: DeadLetterTable | None = None
    on_new_events: Callable[[list[InboxEvent]], None] | None = None
    on_dead_letter: Callable[[], None] | None = None
    # Our own messages come back from the homeserver; nothing handles them, so they are not
    # stored (half the events of every relay). Our own state events are kept for the state store.
    is_own_user: Callable[[str], bool] = staticmethod(lambda _: False)  # type: ignore[assignment]
    # `ready` (from mautrix) gates storing transactions; this one says the bots are running too.
    fully_started: bool = False
    # The last transaction ID seen, when the homeserver numbers them (Synapse: one sequence).
    # A gap means a transaction was skipped (Synapse may store one and send it only after a
    # later failure, or never); a step back means a retried or late one, or a homeserver that
    # restarted its numbering. Either way pushes may be missing or out of order: the callback
    # (kind, txn ID, rooms of the transaction) has those rooms reconciled before processing.
    last_txn: int | None = None
    on_txn_anomaly: Callable[[str, str, list[str]], None] | None = None
    # A transaction after a gap is refused once (503): Synapse then marks the appservice down
    # and its recoverer sends the stored transactions oldest first, the skipped one before this
    # one. `on_refused` pings the homeserver so that it does so at once, not after its backoff.
    refuse_gaps: bool = False
    on_refused: Callable[[], None] | None = None
    # Set once gaps turned out never to be filled (other appservices share the sequence): a gap
    # then says nothing, and reading rooms back for each would slow every message.
    gaps_are_normal: bool = False

    def gap_before(self, txn_id: str) -> bool:
        last = self.last_txn
        return txn_id.isdigit() and last is not None and int(txn_id) > last + 1

    def track_txn(self, txn_id: str) -> str | None:
        """'gap', 'back' or None (in sequence, the first one seen, or not a number)."""
        if not txn_id.isdigit():
            return None
        number, last = int(txn_id), self.last_txn
        self.last_txn = number
        if last is None or number == last + 1:
            return None
        if number > last and self.gaps_are_normal:
            return None
        return "gap" if number > last else "back"
    # End-to-end encryption: to-device messages, device lists and key counts in the transaction
    # (bridge/crypto), handled before it is acknowledged. None when encryption is off.
    on_crypto_extras: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    def __init__(self, *args: Any, max_body_size: int, **kwargs: Any) -> None:
        params = {
            "client_max_size": max_body_size,
            "middlewares": [token_middleware(lambda: self.hs_token)],
        }
        super().__init__(*args, aiohttp_params=params, **kwargs)
        self._refused: dict[str, None] = {}  # transaction IDs refused once (insertion-ordered)
        self._unfilled_gaps = 0  # refused transactions in a row whose gap was never filled

    def refuse_first(self, txn_id: str) -> bool:
        """True to refuse this transaction once (503): it comes after a gap."""
        if txn_id in self._refused:  # its retry
            if self.refuse_gaps and self.gap_before(txn_id):
                self._count_unfilled_gap(txn_id)  # and the skipped one never came
            else:
                self._unfilled_gaps = 0  # the skipped one came first, as hoped
            return False
        if not (self.refuse_gaps and self.gap_before(txn_id)):
            return False
        self._refused[txn_id] = None
        while len(self._refused) > 100:
            del self._refused[next(iter(self._refused))]
        return True

    def _count_unfilled_gap(self, txn_id: str) -> None:
        """Synapse numbers every appservice's transactions from one sequence, so with other
        appservices on the homeserver gaps are normal and never filled; refusing each
        transaction once would then delay every message. After a few in a row, stop refusing
        (the scheduled read-back still finds anything missed) and say so."""
        self._unfilled_gaps += 1
        if self._unfilled_gaps >= UNFILLED_GAPS_BEFORE_GIVING_UP:
            self.refuse_gaps, self.gaps_are_normal = False, True
            log.warning(
                "Transaction IDs up to %s had %d gaps in a row that were never filled (other "
                "appservices on this homeserver?): gaps no longer refuse a transaction or read rooms back. "
                "Set appservice.reconcile_on_txn_anomaly: false to skip the first ones too.",
                txn_id, self._unfilled_gaps)

    async def _keep_crypto_extras(self, request: web.Request, txn_id: str) -> None:
        """A refused transaction comes back with its room events only: Synapse does not keep
        its to-device messages, device lists or key counts for the retry (its appservice store:
        "not yet populated for catch-up transactions"). Its to-device messages are handled now,
        or a room key in one would be lost, and every message of that Megolm session with it."""
        if self.on_crypto_extras is None:
            return
        try:
            body = await request.json()
            if isinstance(body, dict):
                await self.on_crypto_extras(body)
        except Exception:
            log.exception("Could not handle the to-device messages of refused transaction %s",
                          txn_id)

    async def _readiness_probe(self, _: web.Request) -> web.Response:
        return web.json_response({}, status=200 if self.fully_started else 503)

    def _check_token(self, request: web.Request) -> bool:
        return bearer_token_ok(request, self.hs_token)

    async def _http_handle_transaction(self, request: web.Request) -> web.Response:
        txn_id = request.match_info["transaction_id"]
        if not self.ready or self.inbox is None or self.dead_letters is None:
            # 503 makes the homeserver keep the transaction and retry it later.
            return web.json_response(
                {"errcode": "M_NOT_READY", "error": "The bridge is starting"}, status=503
            )
        if self.refuse_first(txn_id):
            log.info("Transaction %s after %s: refused once, for the skipped one to come first",
                     txn_id, self.last_txn)
            await self._keep_crypto_extras(request, txn_id)
            if self.on_refused:
                self.on_refused()
            return web.json_response(
                {"errcode": "M_UNKNOWN", "error": "A transaction before this one is missing"},
                status=503,
            )
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"errcode": "M_NOT_JSON", "error": "Not JSON"}, status=400)
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            return web.json_response(
                {"errcode": "M_BAD_JSON", "error": "Missing events list"}, status=400
            )
        good: list[dict[str, Any]] = []
        malformed = 0
        try:
            for event in events:
                problem = event_problem(event)
                if problem:
                    log.warning("Dead letter in transaction %s: %s", txn_id, problem)
                    await self.dead_letters.add(txn_id, event, problem)
                    DEAD_LETTERS.labels("malformed").inc()
                    malformed += 1
                elif self.is_own_user(event["sender"]) and "state_key" not in event:
                    continue
                else:
                    good.append(event)
            if self.on_crypto_extras is not None:
                await self.on_crypto_extras(body)
            stored = await self.inbox.store(txn_id, good)
        except Exception:
            log.exception("Could not store transaction %s; the homeserver will retry", txn_id)
            return web.json_response(
                {"errcode": "M_UNKNOWN", "error": "Could not store the transaction"}, status=500
            )
        EVENTS_STORED.inc(len(good))
        if malformed and self.on_dead_letter:
            self.on_dead_letter()  # the administrators are told at once, never silently kept
        previous = self.last_txn
        anomaly = self.track_txn(txn_id)
        if anomaly and self.on_txn_anomaly:
            log.info("Transaction %s after %s (%s): reconciling rooms", txn_id, previous, anomaly)
            self.on_txn_anomaly(anomaly, txn_id, list(dict.fromkeys(e["room_id"] for e in good)))
        if stored and self.on_new_events:
            self.on_new_events(stored)
        return web.json_response({})
