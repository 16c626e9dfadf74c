"""The consultation tables. Every write is keyed by the Matrix event that caused it, so an event
handled twice after a crash changes nothing the second time."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from mautrix.util.async_db import Database

from .transcript import ERASED

OPEN, CLAIMED, CLOSED = "open", "claimed", "closed"
# Log kinds whose first time is kept on the case, and the reminder steps counted there.
FIRST_OF = {"claimed": "claimed_at", "email_offered": "email_offered_at", "emailed": "emailed_at",
            "closed": "first_closed_at"}
REMINDER_KINDS = ("reminded", "escalated", "followup_reminded", "followup_escalated")
LATEST_CASES_KEPT = 10_000


@dataclass
class Case:
    id: int
    ref: str
    dept_id: str
    citizen: str
    dm_room: str
    officers_room: str
    status: str
    claimed_by: str | None
    opened_at: int
    first_reply_at: int | None
    closed_at: int | None
    rating: int | None
    leave_message: bool = False
    waiting: bool = False
    attention_since: int | None = None
    reopened_by: str | None = None  # the citizen's message that last reopened the case
    # When the citizen rated since the last close; None while a close's rating is still awaited.
    # `rating` is the latest one given, kept through a reopening until a new one replaces it.
    rated_at: int | None = None
    # Each stretch of the citizen waiting with nobody on the case (opened; reopened; moved to
    # another department) is a round of the reminder ladder, whose steps are taken once a round.
    attention_round: int = 0
    # The round in which the case last waited for an opening (None: never): that round's ladder
    # is the leave-message follow-up in working hours, not the reminders in minutes.
    held_round: int | None = None

    @property
    def follow_up(self) -> bool:
        """This round began as a leave-message delivered at an opening."""
        return self.held_round is not None and self.held_round == self.attention_round

    @property
    def root_key(self) -> str:
        """The outbox key of the thread root in the officers' room."""
        return f"case/{self.id}/root/{self.officers_room}"


CASE_COLUMNS = (
    "id, ref, dept_id, citizen, dm_room, officers_room, status, claimed_by, opened_at,"
    " first_reply_at, closed_at, rating, leave_message, waiting, attention_since, reopened_by_event, rated_at,"
    " attention_round, held_round"
)


def _case(row) -> Case | None:  # type: ignore[no-untyped-def]
    if row is None:
        return None
    values = [row[i] for i in range(19)]
    values[12], values[13] = bool(values[12]), bool(values[13])
    return Case(*values)


class _OpenedMeanwhile(Exception):
    """Rolls back a number taken for an event whose case another worker inserted first."""


class ConsultationTables:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Rows that never change once written; every relayed message would read them again.
        self._dms: dict[str, tuple[str, str]] = {}
        self._pseudonyms: dict[tuple[str, str], int] = {}
        # The latest case of each DM, read for every message the citizen sends. Every write to a
        # case goes through _writing, which forgets it, so what is kept is what the table holds.
        self._latest: dict[str, Case] = {}
        self._dm_of_case: dict[int, str] = {}
        self._writes = 0  # case writes finished; a read that overlapped one is not kept

    def _forget(self, case_id: int) -> None:
        dm_room = self._dm_of_case.pop(case_id, None)
        if dm_room is not None:
            self._latest.pop(dm_room, None)

    @asynccontextmanager
    async def _writing(self, forget: Callable[[], object]) -> AsyncIterator[None]:
        """Around every write to a case: what is kept of it is forgotten before and after (a
        read that finished while the write was under way may have kept the old row)."""
        forget()
        try:
            yield
        finally:
            forget()
            self._writes += 1

    async def _update(self, case_id: int, query: str, *args: object) -> None:
        async with self._writing(lambda: self._forget(case_id)):
            await self.db.execute(query, case_id, *args)

    # DM rooms ---------------------------------------------------------------------------------
    async def add_dm(self, room_id: str, citizen: str, dept_id: str) -> None:
        await self.db.execute(
            "INSERT INTO consult_dm (room_id, citizen, dept_id) VALUES ($1, $2, $3)"
            " ON CONFLICT (room_id) DO NOTHING",
            room_id, citizen, dept_id,
        )

    async def dm(self, room_id: str) -> tuple[str, str] | None:
        if room_id in self._dms:
            return self._dms[room_id]
        row = await self.db.fetchrow(
            "SELECT citizen, dept_id FROM consult_dm WHERE room_id=$1", room_id
        )
        if row is None:
            return None
        self._dms[room_id] = (row["citizen"], row["dept_id"])
        return self._dms[room_id]

    # Cases ------------------------------------------------------------------------------------
    async def latest_case(self, dm_room: str) -> Case | None:
        if dm_room in self._latest:
            return replace(self._latest[dm_room])  # a copy: callers may not change what is kept
        writes = self._writes
        row = await self.db.fetchrow(
            f"SELECT {CASE_COLUMNS} FROM consult_case WHERE dm_room=$1 ORDER BY id DESC LIMIT 1",
            dm_room,
        )
        case = _case(row)
        if case is not None and self._writes == writes:
            if len(self._latest) >= LATEST_CASES_KEPT:
                self._latest.clear()
                self._dm_of_case.clear()
            self._forget(case.id)
            self._latest[dm_room] = replace(case)
            self._dm_of_case[case.id] = dm_room
        return case

    async def case_of_message(self, event_id: str) -> Case | None:
        """The case a citizen's message was taken into (passed on, or kept to be)."""
        case_id = await self.db.fetchval(
            "SELECT case_id FROM consult_log WHERE event_id=$1 AND kind='citizen_message'", event_id)
        return await self.case(int(case_id)) if case_id is not None else None

    async def case(self, case_id: int) -> Case | None:
        row = await self.db.fetchrow(f"SELECT {CASE_COLUMNS} FROM consult_case WHERE id=$1", case_id)
        return _case(row)

    async def open_case(
        self, *, event_id: str, dept_id: str, citizen: str, dm_room: str, officers_room: str,
        now_ms: int, day: str,
    ) -> Case:
        """Open a case for the citizen's message `event_id` (once, however often it is handled).

        The reference is `<DEPT>-<day>-<n>`, n from a counter per prefix that only grows
        (consult_ref_counter), so a reference is never issued twice whatever happens to the case
        later (transferred out, reopened) and however many citizens open cases at once. The
        number is taken and the case inserted in one transaction: a crash rolls both back, and
        a reprocessed event finds its case and takes no number. (Were the two ever split, a
        crash between them would only skip a number; a gap is harmless, a duplicate is not.)
        """
        existing = await self.db.fetchrow(
            f"SELECT {CASE_COLUMNS} FROM consult_case WHERE opened_by_event=$1", event_id
        )
        if existing is not None:
            return _case(existing)  # type: ignore[return-value]
        prefix = f"{dept_id.upper()}-{day}"
        try:
            async with self._writing(lambda: self._latest.pop(dm_room, None)):
                async with self.db.acquire() as conn, conn.transaction():
                    number = await conn.fetchval(
                        "INSERT INTO consult_ref_counter (prefix, last_number) VALUES ($1, 1)"
                        " ON CONFLICT (prefix) DO UPDATE"
                        " SET last_number = consult_ref_counter.last_number + 1"
                        " RETURNING last_number",
                        prefix,
                    )
                    inserted = await conn.fetchval(
                        "INSERT INTO consult_case (ref, dept_id, citizen, dm_room, officers_room,"
                        " opened_by_event, status, opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                        " ON CONFLICT (opened_by_event) DO NOTHING RETURNING id",
                        f"{prefix}-{number:04d}", dept_id, citizen, dm_room, officers_room,
                        event_id, OPEN, now_ms,
                    )
                    if inserted is None:
                        raise _OpenedMeanwhile  # the same event, handled twice at once
        except _OpenedMeanwhile:
            pass  # rolled back: the number goes back to the counter
        row = await self.db.fetchrow(
            f"SELECT {CASE_COLUMNS} FROM consult_case WHERE opened_by_event=$1", event_id
        )
        return _case(row)  # type: ignore[return-value]

    async def reopen(self, case_id: int, event_id: str) -> None:
        """The citizen wrote again soon after the close: the case is open again, and which
        message reopened it is kept (a reprocessed message then finishes the announcement).
        The rating stays until the citizen gives a new one after the next close (every rating
        stays in the case log); the attention clock restarts now (or at the next opening), not
        at the first opening of the case."""
        await self._update(
            case_id,
            "UPDATE consult_case SET status='open', reopened_by_event=$2, attention_since=NULL,"
            " attention_round=attention_round+1 WHERE id=$1 AND status='closed'",
            event_id,
        )

    async def set_status(self, case_id: int, status: str, *, claimed_by: str | None = None,
                         closed_at: int | None = None) -> None:
        """A close asks the citizen for a rating again (rated_at cleared): after a reopening or
        a bad rating's rework, the answer is the new rating, not a message reopening the case."""
        await self._update(
            case_id,
            "UPDATE consult_case SET status=$2, claimed_by=COALESCE($3, claimed_by),"
            " closed_at=$4, rated_at=CASE WHEN $2='closed' THEN NULL ELSE rated_at END WHERE id=$1",
            status, claimed_by, closed_at,
        )

    async def first_reply(self, case_id: int, at_ms: int, officer: str) -> None:
        await self._update(
            case_id,
            "UPDATE consult_case SET first_reply_at=COALESCE(first_reply_at, $2),"
            " claimed_by=COALESCE(claimed_by, $3),"
            " status=CASE WHEN status='open' THEN 'claimed' ELSE status END WHERE id=$1",
            at_ms, officer,
        )

    async def move(self, case_id: int, dept_id: str, officers_room: str,
                   at_ms: int | None = None) -> None:
        """A transfer: the case is the target's from `at_ms`, and waits for the target's answer:
        a new round of the reminder ladder, whose clock starts now, under the target's hours (a
        leave-message still waiting for an opening starts it at the target's opening)."""
        await self._update(
            case_id,
            "UPDATE consult_case SET dept_id=$2, officers_room=$3, status='open', claimed_by=NULL,"
            " attention_since=CASE WHEN waiting THEN attention_since"
            " ELSE COALESCE($4, attention_since) END, attention_round=attention_round+1,"
            " held_round=CASE WHEN waiting THEN attention_round+1 ELSE held_round END"
            " WHERE id=$1 AND dept_id<>$2",  # (a transfer handled again moves it once)
            dept_id, officers_room, at_ms,
        )

    async def claimed_cases(self) -> list[Case]:
        rows = await self.db.fetch(f"SELECT {CASE_COLUMNS} FROM consult_case WHERE status='claimed' ORDER BY id")
        return [c for c in map(_case, rows) if c is not None]

    async def unclaim(self, case_id: int, at_ms: int) -> None:
        """Its claimer left the department: open for the others again. Unanswered, it waits for
        an answer from now, a new round of the reminder ladder; answered, it waits for nothing."""
        await self._update(
            case_id,
            "UPDATE consult_case SET status='open', claimed_by=NULL, attention_round=attention_round+1,"
            " attention_since=CASE WHEN first_reply_at IS NULL THEN CAST($2 AS BIGINT) ELSE NULL END"
            " WHERE id=$1 AND status='claimed'",
            at_ms,
        )

    async def rework(self, case_id: int) -> None:
        """A bad rating opens the case again for the supervisors, who were called at once: no
        round of the reminder ladder (its clock stops until the case moves or reopens)."""
        await self._update(
            case_id, "UPDATE consult_case SET status='open', closed_at=NULL, attention_since=NULL WHERE id=$1")

    async def rate(self, case_id: int, rating: int, at_ms: int) -> None:
        await self._update(
            case_id,
            "UPDATE consult_case SET rating=$2, rated_at=$3 WHERE id=$1",
            rating, at_ms,
        )

    async def hold(self, case_id: int, attention_since: int | None) -> None:
        """Out of hours: the case waits for the next opening as a leave-message."""
        await self._update(
            case_id,
            "UPDATE consult_case SET leave_message=true, waiting=$2, attention_since=$3,"
            " held_round=attention_round WHERE id=$1",
            attention_since is None, attention_since,
        )

    async def released(self, case_id: int, at_ms: int) -> None:
        await self._update(
            case_id,
            "UPDATE consult_case SET waiting=false, attention_since=$2 WHERE id=$1",
            at_ms,
        )

    async def attend_from(self, case_id: int, at_ms: int) -> None:
        await self._update(
            case_id,
            "UPDATE consult_case SET attention_since=COALESCE(attention_since, $2) WHERE id=$1",
            at_ms,
        )

    async def waiting_cases(self) -> list[Case]:
        """Cases out of hours, for the next opening (not those whose citizen erased their data:
        nothing of theirs is left to pass on)."""
        rows = await self.db.fetch(
            f"SELECT {CASE_COLUMNS} FROM consult_case WHERE waiting=true AND citizen<>$1 ORDER BY id", ERASED
        )
        return [c for c in map(_case, rows) if c is not None]

    async def unanswered_cases(self, since_before_ms: int) -> list[Case]:
        """Cases nobody has taken or answered since their attention clock started, before the
        given moment: 'open' (an answer or a claim makes them 'claimed'; a reopening or a move
        makes them 'open' again). A citizen who erased their data is not waiting any more."""
        rows = await self.db.fetch(
            f"SELECT {CASE_COLUMNS} FROM consult_case WHERE waiting=false AND status='open'"
            " AND attention_since <= $1 AND citizen<>$2 ORDER BY id",
            since_before_ms, ERASED,
        )
        return [c for c in map(_case, rows) if c is not None]

    async def case_by_ref(self, ref: str) -> Case | None:
        row = await self.db.fetchrow(f"SELECT {CASE_COLUMNS} FROM consult_case WHERE ref=$1", ref)
        return _case(row)

    async def add_pending(self, event_id: str, case_id: int, content: str) -> None:
        await self.db.execute(
            "INSERT INTO consult_pending (event_id, case_id, content) VALUES ($1, $2, $3)"
            " ON CONFLICT (event_id) DO NOTHING",
            event_id, case_id, content,
        )

    async def pending(self, case_id: int) -> list[tuple[str, str]]:
        rows = await self.db.fetch(
            "SELECT event_id, content FROM consult_pending WHERE case_id=$1 ORDER BY seq", case_id
        )
        return [(r["event_id"], r["content"]) for r in rows]

    async def logged(self, event_id: str) -> bool:
        return bool(await self.db.fetchval("SELECT 1 FROM consult_log WHERE event_id=$1", event_id))

    async def logged_as(self, event_id: str) -> str | None:
        """What an event was logged as (None: not logged)."""
        kind = await self.db.fetchval("SELECT kind FROM consult_log WHERE event_id=$1", event_id)
        return str(kind) if kind is not None else None

    async def transfer_of(self, event_id: str) -> str | None:
        """The department a `!转办` event moved its case from (None: it moved none)."""
        detail = await self.db.fetchval(
            "SELECT detail FROM consult_log WHERE event_id=$1 AND kind='transferred'", event_id)
        return str(detail).partition("->")[0] if detail else None

    # Pseudonyms -------------------------------------------------------------------------------
    async def pseudonym(self, dept_id: str, citizen: str) -> int:
        """A stable random number per department and citizen: 市民 #4821."""
        if (dept_id, citizen) in self._pseudonyms:
            return self._pseudonyms[dept_id, citizen]
        number = await self.db.fetchval(
            "SELECT number FROM consult_pseudonym WHERE dept_id=$1 AND citizen=$2", dept_id, citizen
        )
        while number is None:
            candidate = 1000 + secrets.randbelow(9000)
            taken = await self.db.fetchval(
                "SELECT 1 FROM consult_pseudonym WHERE dept_id=$1 AND number=$2", dept_id, candidate
            )
            if not taken:
                await self.db.execute(
                    "INSERT INTO consult_pseudonym (dept_id, citizen, number) VALUES ($1, $2, $3)"
                    " ON CONFLICT (dept_id, citizen) DO NOTHING",
                    dept_id, citizen, candidate,
                )
                number = await self.db.fetchval(
                    "SELECT number FROM consult_pseudonym WHERE dept_id=$1 AND citizen=$2",
                    dept_id, citizen,
                )
        self._pseudonyms[dept_id, citizen] = number
        return number

    # Log --------------------------------------------------------------------------------------
    async def log(self, event_id: str, case_id: int, kind: str, at_ms: int,
                  actor: str | None = None, detail: str | None = None) -> bool:
        """Record what happened; False if this event was logged before (a reprocessed event)."""
        inserted = await self.db.fetchval(
            "INSERT INTO consult_log (event_id, case_id, kind, at, actor, detail)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING RETURNING case_id",
            event_id, case_id, kind, at_ms, actor, detail,
        )
        await self._keep_on_case(case_id, kind, at_ms, detail)
        return inserted is not None

    async def _keep_on_case(self, case_id: int, kind: str, at_ms: int, detail: str | None) -> None:
        """What the assessment reads is also kept on the case (consultation migration v5), so a
        month's report needs no grouping of the log. Idempotent, so it runs again when the event
        is handled again after a crash between the two writes."""
        column = FIRST_OF.get(kind)
        if kind == "rated":
            column = "bad_rated_at" if detail is not None and detail.isdigit() and int(detail) <= 2 else None
        if column is not None:
            await self._update(
                case_id, f"UPDATE consult_case SET {column}=COALESCE({column}, $2) WHERE id=$1", at_ms)
        elif kind in REMINDER_KINDS:
            await self._update(
                case_id, "UPDATE consult_case SET reminders=(SELECT COUNT(*) FROM consult_log"
                " WHERE case_id=$1 AND kind IN ('reminded', 'escalated', 'followup_reminded',"
                " 'followup_escalated')) WHERE id=$1")

    async def history(self, case_id: int) -> list[tuple[str, int, str | None]]:
        rows = await self.db.fetch(
            "SELECT kind, at, detail FROM consult_log WHERE case_id=$1 ORDER BY at, event_id",
            case_id,
        )
        return [(r["kind"], r["at"], r["detail"]) for r in rows]
