"""Availability: weekly rules, dated exceptions, offered event types, and their SQL function.

* ``availability_rules``: a practitioner's weekly intervals in local wall-clock time (ISO weekday
  1 = Monday ... 7 = Sunday) in an IANA time zone, valid from a date until an optional last date
  (inclusive). Checks: end after start, weekday in 1..7, validity not reversed; the exclusion
  constraint ``ex_availability_rules_no_overlap`` refuses two intervals of one practitioner and
  weekday that overlap while their validity overlaps (GiST over range types: no extension needed).
* ``availability_exceptions``: ``time_off`` or ``extra`` hours in absolute time, end after start.
* ``practitioner_event_types``: the event types each practitioner offers.
* ``practitioner_availability(from_time, until_time, practitioner_ids)``: each practitioner's
  available time in the window as a ``tstzmultirange``, wall-clock hours resolved to UTC per date.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

exception_kind = postgresql.ENUM(
    "time_off", "extra", name="availability_exception_kind", create_type=False
)

FUNCTION = """
CREATE OR REPLACE FUNCTION practitioner_availability(
    from_time timestamptz,
    until_time timestamptz,
    practitioner_ids integer[] DEFAULT NULL
) RETURNS TABLE (practitioner_id integer, available tstzmultirange)
LANGUAGE sql STABLE PARALLEL SAFE
-- range_agg over a year of a network's hours: in memory, not in temporary files.
SET work_mem = '64MB'
AS $function$
WITH patterns AS (
    -- Practitioners often share hours (a clinic's template): resolve each distinct pattern once.
    SELECT DISTINCT r.time_zone, r.weekday, r.start_local, r.end_local, r.valid_from,
           coalesce(r.valid_until, 'infinity') AS valid_until
      FROM availability_rules AS r
     WHERE practitioner_ids IS NULL OR r.practitioner_id = ANY (practitioner_ids)
), pattern_windows AS MATERIALIZED (
    SELECT p.time_zone, p.weekday, p.start_local, p.end_local, p.valid_from, p.valid_until,
           -- Clipped to the window here, once per pattern: cheaper than intersecting every
           -- practitioner's merged multirange with it (an empty range when outside, so a
           -- practitioner whose hours all fall outside still gets its empty row).
           CASE WHEN s.starts < until_time AND s.ends > from_time
                THEN tstzrange(greatest(s.starts, from_time), least(s.ends, until_time))
                ELSE 'empty'::tstzrange END AS span
      FROM patterns AS p
     CROSS JOIN LATERAL (
           SELECT greatest(p.valid_from, (from_time AT TIME ZONE p.time_zone)::date - 1)
                      AS first_day,
                  least(p.valid_until, (until_time AT TIME ZONE p.time_zone)::date + 1)
                      AS last_day
           ) AS b
     CROSS JOIN LATERAL (
           SELECT b.first_day
                  + (p.weekday - extract(isodow FROM b.first_day)::integer + 7) % 7 AS day
           ) AS f
     CROSS JOIN LATERAL generate_series(0, (b.last_day - f.day) / 7) AS k(week)
     CROSS JOIN LATERAL (
           SELECT (f.day + 7 * k.week + p.start_local) AT TIME ZONE p.time_zone AS starts,
                  (f.day + 7 * k.week + p.end_local) AT TIME ZONE p.time_zone AS ends
           ) AS s
     WHERE f.day <= b.last_day
       AND s.starts < s.ends
), windows AS (
    SELECT r.practitioner_id, w.span
      FROM availability_rules AS r
      JOIN pattern_windows AS w
        ON w.time_zone = r.time_zone AND w.weekday = r.weekday
       AND w.start_local = r.start_local AND w.end_local = r.end_local
       AND w.valid_from = r.valid_from
       AND w.valid_until = coalesce(r.valid_until, 'infinity')
     WHERE practitioner_ids IS NULL OR r.practitioner_id = ANY (practitioner_ids)
    UNION ALL
    SELECT e.practitioner_id,
           tstzrange(greatest(e.starts_at, from_time), least(e.ends_at, until_time))
      FROM availability_exceptions AS e
     WHERE e.kind = 'extra' AND e.starts_at < until_time AND e.ends_at > from_time
       AND (practitioner_ids IS NULL OR e.practitioner_id = ANY (practitioner_ids))
), time_off AS (
    SELECT e.practitioner_id, range_agg(tstzrange(e.starts_at, e.ends_at)) AS spans
      FROM availability_exceptions AS e
     WHERE e.kind = 'time_off' AND e.starts_at < until_time AND e.ends_at > from_time
       AND (practitioner_ids IS NULL OR e.practitioner_id = ANY (practitioner_ids))
     GROUP BY e.practitioner_id
)
SELECT a.practitioner_id,
       CASE WHEN t.spans IS NULL THEN a.spans ELSE a.spans - t.spans END
  FROM (SELECT w.practitioner_id, range_agg(w.span) AS spans
          FROM windows AS w GROUP BY w.practitioner_id) AS a
  LEFT JOIN time_off AS t ON t.practitioner_id = a.practitioner_id
 ORDER BY a.practitioner_id
$function$
"""


def upgrade() -> None:
    op.create_table(
        "availability_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("start_local", sa.Time(), nullable=False),
        sa.Column("end_local", sa.Time(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "end_local > start_local", name=op.f("ck_availability_rules_end_after_start")
        ),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until >= valid_from",
            name=op.f("ck_availability_rules_valid_until_after_valid_from"),
        ),
        sa.CheckConstraint(
            "weekday BETWEEN 1 AND 7", name=op.f("ck_availability_rules_weekday_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_rules")),
        postgresql.ExcludeConstraint(
            (sa.text("int4range(practitioner_id, practitioner_id, '[]')"), "="),
            (sa.text("int4range(weekday, weekday, '[]')"), "="),
            (
                sa.text("tsrange(DATE '2000-01-03' + start_local, DATE '2000-01-03' + end_local)"),
                "&&",
            ),
            (sa.text("daterange(valid_from, valid_until, '[]')"), "&&"),
            using="gist",
            name="ex_availability_rules_no_overlap",
        ),
    )
    op.create_index(
        op.f("ix_availability_rules_practitioner_id"),
        "availability_rules",
        ["practitioner_id"],
        unique=False,
    )
    exception_kind.create(op.get_bind())
    op.create_table(
        "availability_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", exception_kind, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_availability_exceptions_ends_after_starts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_exceptions")),
    )
    op.create_index(
        "ix_availability_exceptions_practitioner_starts",
        "availability_exceptions",
        ["practitioner_id", "starts_at"],
        unique=False,
    )
    op.create_table(
        "practitioner_event_types",
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("event_type_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_type_id"],
            ["event_types.id"],
            name=op.f("fk_practitioner_event_types_event_type_id_event_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "practitioner_id", "event_type_id", name=op.f("pk_practitioner_event_types")
        ),
    )
    op.create_index(
        op.f("ix_practitioner_event_types_event_type_id"),
        "practitioner_event_types",
        ["event_type_id"],
        unique=False,
    )
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION practitioner_availability(timestamptz, timestamptz, integer[])")
    op.drop_index(
        op.f("ix_practitioner_event_types_event_type_id"), table_name="practitioner_event_types"
    )
    op.drop_table("practitioner_event_types")
    op.drop_index(
        "ix_availability_exceptions_practitioner_starts", table_name="availability_exceptions"
    )
    op.drop_table("availability_exceptions")
    exception_kind.drop(op.get_bind())
    op.drop_index(op.f("ix_availability_rules_practitioner_id"), table_name="availability_rules")
    op.drop_table("availability_rules")
