"""``practitioner_availability``: when practitioners are available, resolved to UTC, in SQL.

One SQL function answers "when can practitioner P be booked between two moments?" for every
reader (the services, the frames, raw SQL), so all of them resolve wall-clock hours the same way:

1. each weekly rule is expanded over the dates of the window (in the rule's time zone, a day of
   margin on each side) that fall on its weekday and inside its validity, by an integer series
   stepping 7 days: no row per day is made in Python;
2. ``(date + start_local) AT TIME ZONE time_zone`` turns each local interval into a UTC range on
   that date, so 09:00 stays 09:00 local across a daylight-saving change; an interval that a
   clock change leaves empty or reversed (inside a skipped hour) is dropped, and each range is
   clipped to ``[from_time, until_time)`` (once per distinct pattern, not per practitioner);
3. ``extra`` exceptions (clipped the same way) are added, the ranges merged (``range_agg``) and
   ``time_off`` exceptions subtracted (multirange difference, only for practitioners who have
   some in the window).

It returns one row per practitioner with any availability in the window: ``(practitioner_id,
available tstzmultirange)``, ordered by practitioner. ``practitioner_ids`` (``NULL``: everyone)
narrows the work to some practitioners.

This module is the package's one source of the function's DDL: :func:`register` hooks it to
``Base.metadata``, so ``create_all`` builds it after the tables and ``drop_all`` removes it.
Alembic revisions keep frozen copies; ``tests/test_schema_parity.py`` fails when the two differ.
"""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, event

__all__ = ["CREATE_FUNCTION", "DROP_FUNCTION", "register"]

CREATE_FUNCTION = """
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

DROP_FUNCTION = (
    "DROP FUNCTION IF EXISTS practitioner_availability(timestamptz, timestamptz, integer[])"
)


def _create(target: MetaData, connection: Connection, **_: object) -> None:
    connection.exec_driver_sql(CREATE_FUNCTION)


def _drop(target: MetaData, connection: Connection, **_: object) -> None:
    connection.exec_driver_sql(DROP_FUNCTION)


def register(metadata: MetaData) -> None:
    """Create the function after ``metadata.create_all`` made the tables; drop it before
    ``drop_all`` drops them (it reads ``availability_rules`` and ``availability_exceptions``)."""
    event.listen(metadata, "after_create", _create)
    event.listen(metadata, "before_drop", _drop)
