"""Availability: practitioners sharing weekly rules share one resolution of them.

``availability_schedules(from_time, until_time, practitioner_ids)`` groups practitioners whose
weekly rules are identical (a clinic's template) and resolves each such schedule once: ``(members
integer[], weekly tstzmultirange)``. ``practitioner_availability`` (revision 0005) is rebuilt on
it, with the same arguments and result: each member gets its schedule's hours, plus extra hours,
minus time off. The DDL's source is ``africare_data.models.availability_sql``; these are frozen
copies.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEDULES = """
CREATE OR REPLACE FUNCTION availability_schedules(
    from_time timestamptz,
    until_time timestamptz,
    practitioner_ids integer[] DEFAULT NULL
) RETURNS TABLE (members integer[], weekly tstzmultirange)
LANGUAGE sql STABLE PARALLEL SAFE
-- range_agg over a year of a schedule's hours: in memory, not in temporary files.
SET work_mem = '64MB'
AS $function$
WITH rules AS (
    SELECT r.practitioner_id, r.time_zone, r.weekday, r.start_local, r.end_local, r.valid_from,
           coalesce(r.valid_until, 'infinity') AS valid_until
      FROM availability_rules AS r
     WHERE practitioner_ids IS NULL OR r.practitioner_id = ANY (practitioner_ids)
), schedules AS MATERIALIZED (
    -- Practitioners often share hours (a clinic's template): a schedule is one set of rules,
    -- resolved once through its first member. The order makes equal sets equal arrays
    -- (weekday, start and validity already tell a practitioner's rules apart).
    SELECT min(s.practitioner_id) AS representative,
           array_agg(s.practitioner_id ORDER BY s.practitioner_id) AS members
      FROM (SELECT r.practitioner_id,
                   array_agg(ROW(r.weekday, r.start_local, r.valid_from, r.end_local,
                                 r.valid_until, r.time_zone)
                             ORDER BY r.weekday, r.start_local, r.valid_from) AS rules
              FROM rules AS r
             GROUP BY r.practitioner_id) AS s
     GROUP BY s.rules
), patterns AS (
    -- Schedules often share intervals too (the same hours in another zone or period).
    SELECT DISTINCT r.time_zone, r.weekday, r.start_local, r.end_local, r.valid_from,
           r.valid_until
      FROM rules AS r
      JOIN schedules AS s ON s.representative = r.practitioner_id
), pattern_windows AS MATERIALIZED (
    SELECT p.time_zone, p.weekday, p.start_local, p.end_local, p.valid_from, p.valid_until,
           -- Clipped to the window here, once per pattern (an empty range when outside, so a
           -- schedule whose hours all fall outside still gets its empty row).
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
)
SELECT s.members, range_agg(w.span)
  FROM schedules AS s
  JOIN rules AS r ON r.practitioner_id = s.representative
  JOIN pattern_windows AS w
    ON w.time_zone = r.time_zone AND w.weekday = r.weekday
   AND w.start_local = r.start_local AND w.end_local = r.end_local
   AND w.valid_from = r.valid_from AND w.valid_until = r.valid_until
 GROUP BY s.members
$function$
"""

AVAILABILITY = """
CREATE OR REPLACE FUNCTION practitioner_availability(
    from_time timestamptz,
    until_time timestamptz,
    practitioner_ids integer[] DEFAULT NULL
) RETURNS TABLE (practitioner_id integer, available tstzmultirange)
LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
WITH weekly AS (
    SELECT m.practitioner_id, s.weekly AS spans
      FROM availability_schedules(from_time, until_time, practitioner_ids) AS s
     CROSS JOIN LATERAL unnest(s.members) AS m(practitioner_id)
), extra AS (
    SELECT e.practitioner_id,
           range_agg(tstzrange(greatest(e.starts_at, from_time), least(e.ends_at, until_time)))
               AS spans
      FROM availability_exceptions AS e
     WHERE e.kind = 'extra' AND e.starts_at < until_time AND e.ends_at > from_time
       AND (practitioner_ids IS NULL OR e.practitioner_id = ANY (practitioner_ids))
     GROUP BY e.practitioner_id
), time_off AS (
    SELECT e.practitioner_id, range_agg(tstzrange(e.starts_at, e.ends_at)) AS spans
      FROM availability_exceptions AS e
     WHERE e.kind = 'time_off' AND e.starts_at < until_time AND e.ends_at > from_time
       AND (practitioner_ids IS NULL OR e.practitioner_id = ANY (practitioner_ids))
     GROUP BY e.practitioner_id
), hours AS (
    SELECT coalesce(w.practitioner_id, x.practitioner_id) AS practitioner_id,
           CASE WHEN x.spans IS NULL THEN w.spans
                WHEN w.spans IS NULL THEN x.spans
                ELSE w.spans + x.spans END AS spans
      FROM weekly AS w
      FULL JOIN extra AS x ON x.practitioner_id = w.practitioner_id
)
SELECT h.practitioner_id,
       CASE WHEN t.spans IS NULL THEN h.spans ELSE h.spans - t.spans END
  FROM hours AS h
  LEFT JOIN time_off AS t ON t.practitioner_id = h.practitioner_id
 ORDER BY h.practitioner_id
$function$
"""

# Revision 0005's function, restored by the downgrade.
PREVIOUS_AVAILABILITY = """
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
    op.execute(SCHEDULES)
    op.execute(AVAILABILITY)


def downgrade() -> None:
    op.execute(PREVIOUS_AVAILABILITY)
    op.execute("DROP FUNCTION availability_schedules(timestamptz, timestamptz, integer[])")
