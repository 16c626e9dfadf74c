from mautrix.util.async_db import Connection, Scheme, UpgradeTable

from bridge.db.schema import serial_primary_key

upgrade_table = UpgradeTable(version_table_name="consultation_version", database_name="consultations")


@upgrade_table.register(description="Cases, DM rooms, pseudonyms and the case log")
async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
    serial = serial_primary_key(scheme)
    await conn.execute("""
        CREATE TABLE consult_dm (
            room_id      TEXT PRIMARY KEY,
            citizen      TEXT NOT NULL,
            dept_id      TEXT NOT NULL,
            greeted      BOOLEAN NOT NULL DEFAULT false
        )
    """)
    await conn.execute(f"""
        CREATE TABLE consult_case (
            id              {serial},
            ref             TEXT NOT NULL UNIQUE,
            dept_id         TEXT NOT NULL,
            citizen         TEXT NOT NULL,
            dm_room         TEXT NOT NULL,
            officers_room   TEXT NOT NULL,
            opened_by_event TEXT NOT NULL UNIQUE,
            status          TEXT NOT NULL,
            claimed_by      TEXT,
            opened_at       BIGINT NOT NULL,
            first_reply_at  BIGINT,
            closed_at       BIGINT,
            rating          INTEGER,
            rated_at        BIGINT
        )
    """)
    await conn.execute("CREATE INDEX consult_case_dm ON consult_case (dm_room, id)")
    await conn.execute("""
        CREATE TABLE consult_pseudonym (
            dept_id   TEXT NOT NULL,
            citizen   TEXT NOT NULL,
            number    INTEGER NOT NULL,
            PRIMARY KEY (dept_id, citizen),
            UNIQUE (dept_id, number)
        )
    """)
    await conn.execute("""
        CREATE TABLE consult_log (
            event_id  TEXT PRIMARY KEY,
            case_id   BIGINT NOT NULL,
            kind      TEXT NOT NULL,
            at        BIGINT NOT NULL,
            actor     TEXT,
            detail    TEXT
        )
    """)
    await conn.execute("CREATE INDEX consult_log_case ON consult_log (case_id, at)")


@upgrade_table.register(description="Leave-messages held until opening, and the attention clock")
async def upgrade_v2(conn: Connection, scheme: Scheme) -> None:
    serial = serial_primary_key(scheme)
    await conn.execute("ALTER TABLE consult_case ADD COLUMN leave_message BOOLEAN NOT NULL DEFAULT false")
    await conn.execute("ALTER TABLE consult_case ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT false")
    await conn.execute("ALTER TABLE consult_case ADD COLUMN attention_since BIGINT")
    await conn.execute(f"""
        CREATE TABLE consult_pending (
            seq       {serial},
            event_id  TEXT NOT NULL UNIQUE,
            case_id   BIGINT NOT NULL,
            content   TEXT NOT NULL
        )
    """)


@upgrade_table.register(description="Reference numbers from a counter; the event that reopened a case")
async def upgrade_v3(conn: Connection, scheme: Scheme) -> None:
    """References were "cases of the department today + 1", which collides once a case moves
    away (a transfer) and races between two citizens opening at once. Now each reference prefix
    (`FGW-20261127`) has a counter that only grows, seeded from the references already issued so
    an upgraded database never issues one of them again."""
    await conn.execute("""
        CREATE TABLE consult_ref_counter (
            prefix       TEXT PRIMARY KEY,
            last_number  INTEGER NOT NULL
        )
    """)
    highest: dict[str, int] = {}
    for row in await conn.fetch("SELECT ref FROM consult_case"):
        prefix, _, number = str(row["ref"]).rpartition("-")
        if prefix and number.isdigit():
            highest[prefix] = max(highest.get(prefix, 0), int(number))
    for prefix, number in highest.items():
        await conn.execute(
            "INSERT INTO consult_ref_counter (prefix, last_number) VALUES ($1, $2)", prefix, number
        )
    await conn.execute("ALTER TABLE consult_case ADD COLUMN reopened_by_event TEXT")


@upgrade_table.register(description="Cases by opening time, for the assessment figures")
async def upgrade_v4(conn: Connection, scheme: Scheme) -> None:
    """The assessment reads one period's cases (bots/assessment/figures.py); without this index
    every report would read every case ever opened."""
    await conn.execute("CREATE INDEX consult_case_opened ON consult_case (opened_at)")


@upgrade_table.register(description="What the assessment reads from the case log, on the case")
async def upgrade_v5(conn: Connection, scheme: Scheme) -> None:
    """The assessment (bots/assessment/figures.py) reads a month's cases; the first claim, the
    reminder steps, the e-mail fallback, the first close and the first bad rating were only in
    the case log, which a report over a million cases would have to group by case. The log
    method now keeps them on the case too; older cases get them from their log here."""
    for column in ("claimed_at", "email_offered_at", "emailed_at", "first_closed_at", "bad_rated_at"):
        await conn.execute(f"ALTER TABLE consult_case ADD COLUMN {column} BIGINT")
    await conn.execute("ALTER TABLE consult_case ADD COLUMN reminders INTEGER NOT NULL DEFAULT 0")

    def first(kinds: str, extra: str = "") -> str:
        return (f"(SELECT MIN(l.at) FROM consult_log l WHERE l.case_id = consult_case.id"
                f" AND l.kind IN ({kinds}){extra})")

    bad = " AND (CASE WHEN l.kind = 'rated' THEN CAST(l.detail AS INTEGER) END) <= 2"
    reminders = "'reminded', 'escalated', 'followup_reminded', 'followup_escalated'"
    claimed, offered, emailed, closed = (
        first(f"'{k}'") for k in ("claimed", "email_offered", "emailed", "closed"))
    bad_rated = first("'rated'", bad)
    await conn.execute(
        f"UPDATE consult_case SET claimed_at = {claimed}, email_offered_at = {offered},"
        f" emailed_at = {emailed}, first_closed_at = {closed}, bad_rated_at = {bad_rated},"
        " reminders = (SELECT COUNT(*) FROM consult_log l WHERE l.case_id = consult_case.id"
        f" AND l.kind IN ({reminders}))"
    )


@upgrade_table.register(description="Blocks of a citizen from a department; messages held over the rate limit")
async def upgrade_v6(conn: Connection, scheme: Scheme) -> None:
    """A supervisor may block a citizen from a department for a while (lifted by the bridge at
    its end); a citizen who floods a department has the messages over the limit held here and
    passed on together, so nothing is lost and the other citizens' messages do not queue behind
    them. Blocked citizens' messages are held here too (kind 'blocked'), never relayed, kept for
    an appeal until retention removes them."""
    serial = serial_primary_key(scheme)
    await conn.execute(f"""
        CREATE TABLE consult_block (
            id          {serial},
            dept_id     TEXT NOT NULL,
            citizen     TEXT NOT NULL,
            since_ms    BIGINT NOT NULL,
            until_ms    BIGINT NOT NULL,
            reason      TEXT NOT NULL,
            blocked_by  TEXT NOT NULL,
            event_id    TEXT NOT NULL UNIQUE,
            lifted_at   BIGINT,
            lifted_by   TEXT
        )
    """)
    await conn.execute("CREATE INDEX consult_block_active ON consult_block (dept_id, citizen, lifted_at)")
    await conn.execute(f"""
        CREATE TABLE consult_held (
            seq       {serial},
            event_id  TEXT NOT NULL UNIQUE,
            case_id   BIGINT NOT NULL,
            kind      TEXT NOT NULL,
            at        BIGINT NOT NULL,
            content   TEXT NOT NULL
        )
    """)
    await conn.execute("CREATE INDEX consult_held_case ON consult_held (kind, case_id, seq)")


@upgrade_table.register(description="A case keeps its latest rating; each close asks for a new one")
async def upgrade_v7(conn: Connection, scheme: Scheme) -> None:
    """Before, a reopening cleared the rating (a citizen's "谢谢" after rating 5 left the case
    unrated in the assessment unless rated again), and a bad rating's rework, closed again,
    took the citizen's new rating as a message that reopened the case. Now `rating` is the
    latest given and `rated_at` is cleared by each close (citizen_side._rating). Old cases get
    their latest logged rating back, and a close after the rating awaits a new one."""
    rated = "FROM consult_log l WHERE l.case_id = consult_case.id AND l.kind = 'rated'"
    await conn.execute(
        f"UPDATE consult_case SET rating = (SELECT CAST(l.detail AS INTEGER) {rated}"
        " ORDER BY l.at DESC, l.event_id DESC LIMIT 1),"
        f" rated_at = (SELECT MAX(l.at) {rated}) WHERE rating IS NULL AND EXISTS (SELECT 1 {rated})"
    )
    await conn.execute("UPDATE consult_case SET rated_at = NULL WHERE status = 'closed'"
                       " AND rated_at IS NOT NULL AND closed_at IS NOT NULL AND rated_at < closed_at")


@upgrade_table.register(description="Rounds of the reminder ladder")
async def upgrade_v8(conn: Connection, scheme: Scheme) -> None:
    """The ladder's steps were taken once a case, and only while nobody had ever answered: a
    case reopened or moved to another department after an answer waited unreminded. Each
    reopening and move now starts a round (bots/consultation/attention.py). Cases so far are in
    their first round, whose step keys are the old ones, so no step is taken twice. A case open
    again after a bad rating has its clock stopped, as the rework does now (its clock is the
    one from before the rating, and an answered case would be reminded for it)."""
    await conn.execute("ALTER TABLE consult_case ADD COLUMN attention_round INTEGER NOT NULL DEFAULT 0")
    await conn.execute("UPDATE consult_case SET attention_since = NULL WHERE status = 'open'"
                       " AND bad_rated_at IS NOT NULL AND attention_since < bad_rated_at")


@upgrade_table.register(description="The round in which a case last waited for an opening")
async def upgrade_v9(conn: Connection, scheme: Scheme) -> None:
    """Which ladder a case is on was read from `leave_message`, which says the case was ever
    left out of hours (the 留言 count) and is never cleared: a leave-message transferred or
    reopened on duty got the 2-working-hour follow-up instead of the reminders of a live
    question. `held_round` is the round in which it last waited (attention.py). Cases so far
    keep the ladder they are on."""
    await conn.execute("ALTER TABLE consult_case ADD COLUMN held_round INTEGER")
    await conn.execute("UPDATE consult_case SET held_round = attention_round WHERE leave_message")
