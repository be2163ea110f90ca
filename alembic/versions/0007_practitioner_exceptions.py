"""Availability: each practitioner's exceptions in a window, read in one place.

``practitioner_exceptions(from_time, until_time, practitioner_ids)`` returns, per practitioner
with exceptions in the window, its ``extra`` hours (clipped to the window) and its ``time_off``,
each merged into one ``tstzmultirange``. ``practitioner_availability`` (revision 0006) reads them
through it, with the same arguments and result, and so does the utilisation frame, which sums
each schedule's hours once and corrects them per practitioner. The DDL's source is
``africare_data.models.availability_sql``; these are frozen copies.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXCEPTIONS = """
CREATE OR REPLACE FUNCTION practitioner_exceptions(
    from_time timestamptz,
    until_time timestamptz,
    practitioner_ids integer[] DEFAULT NULL
) RETURNS TABLE (practitioner_id integer, extra tstzmultirange, time_off tstzmultirange)
LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT e.practitioner_id,
       range_agg(tstzrange(greatest(e.starts_at, from_time), least(e.ends_at, until_time)))
           FILTER (WHERE e.kind = 'extra'),
       range_agg(tstzrange(e.starts_at, e.ends_at)) FILTER (WHERE e.kind = 'time_off')
  FROM availability_exceptions AS e
 WHERE e.starts_at < until_time AND e.ends_at > from_time
   AND (practitioner_ids IS NULL OR e.practitioner_id = ANY (practitioner_ids))
 GROUP BY e.practitioner_id
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
    SELECT m.practitioner_id, s.weekly
      FROM availability_schedules(from_time, until_time, practitioner_ids) AS s
     CROSS JOIN LATERAL unnest(s.members) AS m(practitioner_id)
), hours AS (
    SELECT coalesce(w.practitioner_id, x.practitioner_id) AS practitioner_id,
           CASE WHEN x.extra IS NULL THEN w.weekly
                WHEN w.weekly IS NULL THEN x.extra
                ELSE w.weekly + x.extra END AS spans,
           x.time_off
      FROM weekly AS w
      FULL JOIN practitioner_exceptions(from_time, until_time, practitioner_ids) AS x
        ON x.practitioner_id = w.practitioner_id
)
SELECT h.practitioner_id,
       CASE WHEN h.time_off IS NULL THEN h.spans ELSE h.spans - h.time_off END
  FROM hours AS h
 WHERE h.spans IS NOT NULL  -- time off alone is no availability
 ORDER BY h.practitioner_id
$function$
"""

# Revision 0006's function, restored by the downgrade.
PREVIOUS_AVAILABILITY = """
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


def upgrade() -> None:
    op.execute(EXCEPTIONS)
    op.execute(AVAILABILITY)


def downgrade() -> None:
    op.execute(PREVIOUS_AVAILABILITY)
    op.execute("DROP FUNCTION practitioner_exceptions(timestamptz, timestamptz, integer[])")
