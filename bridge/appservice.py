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
    # Our own messages come back from the homeserver; nothing handles them, so they are not
    # stored (half the events of every relay). Our own state events are kept for the state store.
    is_own_user: Callable[[str], bool] = staticmethod(lambda _: False)  # type: ignore[assignment]
    # `ready` (from mautrix) gates storing transactions; this one says the bots are running too.
    fully_started: bool = False
    # End-to-end encryption: to-device messages, device lists and key counts in the transaction
    # (bridge/crypto), handled before it is acknowledged. None when encryption is off.
    on_crypto_extras: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    def __init__(self, *args: Any, max_body_size: int, **kwargs: Any) -> None:
        params = {
            "client_max_size": max_body_size,
            "middlewares": [token_middleware(lambda: self.hs_token)],
        }
        super().__init__(*args, aiohttp_params=params, **kwargs)

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
        try:
            for event in events:
                problem = event_problem(event)
                if problem:
                    log.warning("Dead letter in transaction %s: %s", txn_id, problem)
                    await self.dead_letters.add(txn_id, event, problem)
                    DEAD_LETTERS.labels("malformed").inc()
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
        if stored and self.on_new_events:
            self.on_new_events(stored)
        return web.json_response({})
