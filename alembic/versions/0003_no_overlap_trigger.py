"""No-overlap rule as statement-level triggers: set-based check under a per-practitioner lock.

The GiST exclusion constraint ``ex_bookings_no_overlap`` probed its index once per written row,
which dominated bulk loads (1M rows: COPY 47 s with it, 4.6 s without). This revision replaces it
with two ``AFTER ... FOR EACH STATEMENT`` triggers (INSERT and UPDATE, with transition tables)
calling ``bookings_no_overlap_check()``, and adds the partial index
``ix_bookings_active_practitioner_start`` the check scans. A clash still raises SQLSTATE 23P01
naming ``ex_bookings_no_overlap``. How the rule works, and why it requires READ COMMITTED:
``docs/architecture.md``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The active rows a statement put in place: inserted, or updated onto another practitioner or
# time range, or back from cancelled: the FROM clause for each kind of trigger.
_CHANGED = {
    "INSERT": "new_rows AS n WHERE n.status <> 'cancelled'",
    "UPDATE": (
        "new_rows AS n LEFT JOIN old_rows AS o ON o.id = n.id "
        "WHERE n.status <> 'cancelled' AND (o.id IS NULL "
        "OR o.practitioner_id <> n.practitioner_id OR o.start_time <> n.start_time "
        "OR o.end_time <> n.end_time OR o.status = 'cancelled')"
    ),
}

FUNCTION = """
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
        RAISE EXCEPTION USING
            ERRCODE = 'exclusion_violation',
            CONSTRAINT = 'ex_bookings_no_overlap',
            TABLE = TG_TABLE_NAME,
            SCHEMA = TG_TABLE_SCHEMA,
            MESSAGE = format(
                'conflicting bookings violate the no-overlap rule "ex_bookings_no_overlap": '
                'booking %s overlaps booking %s of practitioner %s',
                clash.id, clash.previous_id, clash.practitioner_id),
            DETAIL = format('Booking %s is [%s, %s), booking %s is [%s, %s).',
                clash.id, clash.start_time, clash.end_time,
                clash.previous_id, clash.previous_start, clash.previous_end);
    END IF;
    RETURN NULL;
END
$function$
""".replace("__INSERT__", _CHANGED["INSERT"]).replace("__UPDATE__", _CHANGED["UPDATE"])

TRIGGERS = (
    "CREATE TRIGGER tr_bookings_no_overlap_insert AFTER INSERT ON bookings "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION bookings_no_overlap_check()",
    "CREATE TRIGGER tr_bookings_no_overlap_update AFTER UPDATE ON bookings "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION bookings_no_overlap_check()",
    "ALTER TABLE bookings ENABLE ALWAYS TRIGGER tr_bookings_no_overlap_insert",
    "ALTER TABLE bookings ENABLE ALWAYS TRIGGER tr_bookings_no_overlap_update",
)


def upgrade() -> None:
    op.execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
    op.drop_constraint("ex_bookings_no_overlap", "bookings")
    op.create_index(
        "ix_bookings_active_practitioner_start",
        "bookings",
        ["practitioner_id", "start_time"],
        unique=False,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.execute(FUNCTION)
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER tr_bookings_no_overlap_update ON bookings")
    op.execute("DROP TRIGGER tr_bookings_no_overlap_insert ON bookings")
    op.execute("DROP FUNCTION bookings_no_overlap_check()")
    op.drop_index("ix_bookings_active_practitioner_start", table_name="bookings")
    op.execute(
        "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
        "(int4range(practitioner_id, practitioner_id, '[]') WITH =, "
        "tstzrange(start_time, end_time) WITH &&) WHERE (status <> 'cancelled')"
    )
