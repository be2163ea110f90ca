"""The no-overlap rule of bookings: a trigger function and two statement-level triggers.

No two active bookings of one practitioner may overlap. What the rule checks, how (advisory locks
per practitioner, one windowed query per statement, the partial index), what its refusal says
and why it is not an exclusion constraint: ``docs/architecture.md``, "The no-overlap rule".

This module is the package's one source of the rule's current DDL: :data:`LISTENERS`, declared
on the ``bookings`` table, make ``Base.metadata.create_all`` (``create_db_and_tables``) build it
with the table. Alembic revisions keep frozen copies of their own; ``tests/test_schema_parity.py``
fails when the two differ, so a revision that changes the rule comes with the same change here.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table

__all__ = [
    "CREATE_FUNCTION",
    "CREATE_TRIGGERS",
    "DROP_FUNCTION",
    "LISTENERS",
    "create_rule",
    "drop_rule",
]

# The active rows a statement put in place: inserted, or updated onto another practitioner or
# time range, or back from cancelled: the FROM clause for each kind of trigger.
_CHANGED_ROWS = {
    "INSERT": "new_rows AS n WHERE n.status <> 'cancelled'",
    "UPDATE": (
        "new_rows AS n LEFT JOIN old_rows AS o ON o.id = n.id "
        "WHERE n.status <> 'cancelled' AND (o.id IS NULL "
        "OR o.practitioner_id <> n.practitioner_id OR o.start_time <> n.start_time "
        "OR o.end_time <> n.end_time OR o.status = 'cancelled')"
    ),
}

CREATE_FUNCTION = """
CREATE FUNCTION bookings_no_overlap_check() RETURNS trigger
LANGUAGE plpgsql
-- Always through the partial index: a plan cached while the table was small (a sequential
-- scan) would otherwise make every later check of the session scan the whole table.
SET enable_seqscan = off
AS $function$
DECLARE
    practitioners integer[];
    first_starts timestamptz[];
    last_ends timestamptz[];
    practitioner integer;
    clash record;
    written record;
    existing record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(p ORDER BY p), array_agg(s ORDER BY p), array_agg(e ORDER BY p)
          INTO practitioners, first_starts, last_ends
          FROM (SELECT n.practitioner_id, min(n.start_time), max(n.end_time)
                  FROM __INSERT__ GROUP BY n.practitioner_id) AS k(p, s, e);
    ELSE
        SELECT array_agg(p ORDER BY p), array_agg(s ORDER BY p), array_agg(e ORDER BY p)
          INTO practitioners, first_starts, last_ends
          FROM (SELECT n.practitioner_id, min(n.start_time), max(n.end_time)
                  FROM __UPDATE__ GROUP BY n.practitioner_id) AS k(p, s, e);
    END IF;
    IF practitioners IS NULL THEN
        RETURN NULL;  -- nothing became active or moved: no lock, no check
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_transaction_state',
            MESSAGE = format(
                'writing active bookings needs READ COMMITTED isolation, not %s '
                '(rule "ex_bookings_no_overlap")',
                upper(current_setting('transaction_isolation'))),
            DETAIL = 'The no-overlap check waits for other writers of the practitioner and must '
                'then see what they committed; a REPEATABLE READ or SERIALIZABLE snapshot, taken '
                'before the wait, cannot.',
            HINT = 'Run this write in its own READ COMMITTED transaction.';
    END IF;
    FOREACH practitioner IN ARRAY practitioners LOOP  -- ascending: no deadlock between writers
        PERFORM pg_advisory_xact_lock(4277826, practitioner);
    END LOOP;
    -- A new statement: under READ COMMITTED it sees every writer that held a lock before us.
    -- Per practitioner (a lateral subquery with a window is never flattened, so this stays one
    -- index range scan each, whatever the statistics): the active bookings from the one before
    -- its earliest new start up to its latest new end, each with its predecessor.
    SELECT s.previous_id, s.previous_start, s.previous_end, s.id, s.start_time, s.end_time,
           k.p AS practitioner_id
      INTO clash
      FROM unnest(practitioners, first_starts, last_ends) AS k(p, first_start, last_end)
     CROSS JOIN LATERAL (
           SELECT b.id, b.start_time, b.end_time,
                  lag(b.id) OVER w AS previous_id,
                  lag(b.start_time) OVER w AS previous_start,
                  lag(b.end_time) OVER w AS previous_end
             FROM bookings AS b
            WHERE b.practitioner_id = k.p AND b.status <> 'cancelled'
              AND b.start_time >= coalesce(
                  (SELECT before.start_time FROM bookings AS before
                    WHERE before.practitioner_id = k.p AND before.status <> 'cancelled'
                      AND before.start_time < k.first_start
                    ORDER BY before.start_time DESC LIMIT 1),
                  k.first_start)
              AND b.start_time < k.last_end
           WINDOW w AS (ORDER BY b.start_time, b.id)) AS s
     WHERE s.previous_end > s.start_time
     LIMIT 1;
    IF FOUND THEN
        -- Name first the booking this statement wrote: the later of the two neighbours, unless
        -- only the earlier one is new. Times in ISO 8601, whatever the session's DateStyle.
        IF EXISTS (SELECT FROM new_rows AS n WHERE n.id = clash.id) THEN
            SELECT clash.id AS id, clash.start_time AS start_time, clash.end_time AS end_time
              INTO written;
            SELECT clash.previous_id AS id, clash.previous_start AS start_time,
                   clash.previous_end AS end_time
              INTO existing;
        ELSE
            SELECT clash.previous_id AS id, clash.previous_start AS start_time,
                   clash.previous_end AS end_time
              INTO written;
            SELECT clash.id AS id, clash.start_time AS start_time, clash.end_time AS end_time
              INTO existing;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'exclusion_violation',
            CONSTRAINT = 'ex_bookings_no_overlap',
            TABLE = TG_TABLE_NAME,
            SCHEMA = TG_TABLE_SCHEMA,
            MESSAGE = format(
                'conflicting bookings violate the no-overlap rule "ex_bookings_no_overlap": '
                'booking %s overlaps booking %s of practitioner %s',
                written.id, existing.id, clash.practitioner_id),
            DETAIL = format('Booking %s [%s, %s) overlaps booking %s [%s, %s) of practitioner %s.',
                written.id, to_json(written.start_time) #>> '{}',
                to_json(written.end_time) #>> '{}', existing.id,
                to_json(existing.start_time) #>> '{}', to_json(existing.end_time) #>> '{}',
                clash.practitioner_id);
    END IF;
    RETURN NULL;
END
$function$
""".replace("__INSERT__", _CHANGED_ROWS["INSERT"]).replace("__UPDATE__", _CHANGED_ROWS["UPDATE"])

# The triggers, enabled ALWAYS (also under session_replication_role = replica).
CREATE_TRIGGERS = (
    "CREATE TRIGGER tr_bookings_no_overlap_insert AFTER INSERT ON bookings "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION bookings_no_overlap_check()",
    "CREATE TRIGGER tr_bookings_no_overlap_update AFTER UPDATE ON bookings "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION bookings_no_overlap_check()",
    "ALTER TABLE bookings ENABLE ALWAYS TRIGGER tr_bookings_no_overlap_insert",
    "ALTER TABLE bookings ENABLE ALWAYS TRIGGER tr_bookings_no_overlap_update",
)

DROP_FUNCTION = "DROP FUNCTION IF EXISTS bookings_no_overlap_check()"


def create_rule(table: Table, connection: Connection, **_: object) -> None:
    """After ``CREATE TABLE bookings``: create the function and its triggers."""
    for statement in (CREATE_FUNCTION, *CREATE_TRIGGERS):
        connection.exec_driver_sql(statement)


def drop_rule(table: Table, connection: Connection, **_: object) -> None:
    """After ``DROP TABLE bookings`` (which drops its triggers): drop the function too."""
    connection.exec_driver_sql(DROP_FUNCTION)


LISTENERS = [("after_create", create_rule), ("after_drop", drop_rule)]
"""The table's DDL events (``Table(listeners=...)``), so ``create_all`` and ``drop_all`` build
and remove the rule with ``bookings``."""
