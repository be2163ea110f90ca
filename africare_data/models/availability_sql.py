"""``practitioner_availability``: when practitioners are available, resolved to UTC, in SQL.

One SQL function answers "when can practitioner P be booked between two moments?" for every
reader (the services, the frames, raw SQL), so all of them resolve wall-clock hours the same way:

1. ``availability_schedules`` groups practitioners whose weekly rules are identical (a clinic's
   template) into one schedule and resolves each schedule once: every rule is expanded over the
   dates of the window (in the rule's time zone, a day of margin on each side) that fall on its
   weekday and inside its validity, by an integer series stepping 7 days (no row per day is made
   in Python); ``(date + start_local) AT TIME ZONE time_zone`` turns each local interval into a
   UTC range on that date, so 09:00 stays 09:00 local across a daylight-saving change; an
   interval that a clock change leaves empty or reversed (inside a skipped hour) is dropped; the
   ranges are clipped to ``[from_time, until_time)`` and merged (``range_agg``);
2. ``practitioner_exceptions`` reads each practitioner's exceptions in the window: ``extra``
   hours (clipped the same way) and ``time_off``, each merged into one multirange;
3. ``practitioner_availability`` gives each practitioner its schedule's hours, adds the extra
   hours and subtracts the time off (multirange difference, only for practitioners who have some
   in the window).

``practitioner_availability`` returns one row per practitioner with any availability in the
window: ``(practitioner_id, available tstzmultirange)``, ordered by practitioner. The other two
are for readers that sum hours once per schedule and then correct for each practitioner's
exceptions (utilisation): ``availability_schedules`` returns one row per distinct schedule,
``(members integer[], weekly tstzmultirange)``; ``practitioner_exceptions`` one row per
practitioner with exceptions in the window, ``(practitioner_id, extra, time_off)`` (``NULL``
where there are none of that kind). ``practitioner_ids`` (``NULL``: everyone) narrows the work
to some practitioners.

This module is the package's one source of the functions' DDL: :func:`register` hooks it to
``Base.metadata``, so ``create_all`` builds them after the tables and ``drop_all`` removes them.
Alembic revisions keep frozen copies; ``tests/test_schema_parity.py`` fails when the two differ.
"""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, event

__all__ = ["CREATE_FUNCTIONS", "DROP_FUNCTIONS", "register"]

CREATE_SCHEDULES = """
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

CREATE_EXCEPTIONS = """
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

CREATE_AVAILABILITY = """
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

CREATE_FUNCTIONS = (CREATE_SCHEDULES, CREATE_EXCEPTIONS, CREATE_AVAILABILITY)
"""In creation order: ``practitioner_availability`` reads the other two."""

DROP_FUNCTIONS = (
    "DROP FUNCTION IF EXISTS practitioner_availability(timestamptz, timestamptz, integer[])",
    "DROP FUNCTION IF EXISTS practitioner_exceptions(timestamptz, timestamptz, integer[])",
    "DROP FUNCTION IF EXISTS availability_schedules(timestamptz, timestamptz, integer[])",
)


def _create(target: MetaData, connection: Connection, **_: object) -> None:
    for statement in CREATE_FUNCTIONS:
        connection.exec_driver_sql(statement)


def _drop(target: MetaData, connection: Connection, **_: object) -> None:
    for statement in DROP_FUNCTIONS:
        connection.exec_driver_sql(statement)


def register(metadata: MetaData) -> None:
    """Create the functions after ``metadata.create_all`` made the tables; drop them before
    ``drop_all`` drops them (they read ``availability_rules`` and ``availability_exceptions``)."""
    event.listen(metadata, "after_create", _create)
    event.listen(metadata, "before_drop", _drop)
