"""The SQL of the capacity frames (:mod:`africare_data.frames.availability`).

Parameters: ``:start`` and ``:end`` (the window, timestamptz), ``:ids`` (practitioners, an
``integer[]``; ``NULL``: all), ``:tz`` (the zone periods and hours are read in), ``:unit`` and
``:step`` (the period: ``day``/``1 day``, ``week``/``7 days``, ``month``/``1 month``).

A span (an available interval, a booking clipped to the window) lies in one period or hour in
nearly every case: it is summed directly. The few that cross a boundary are split at it by a
short series over the periods they touch, so the big tables are never expanded row by row.
"""

from __future__ import annotations

__all__ = ["INTERVALS", "UTILISATION", "WEEKDAY_HOUR"]

_AVAILABLE = """
SELECT a.practitioner_id, r.span
  FROM practitioner_availability(:start, :end, CAST(:ids AS integer[])) AS a
 CROSS JOIN LATERAL unnest(a.available) AS r(span)
"""

_BOOKINGS = """
SELECT b.practitioner_id, b.status,
       tstzrange(greatest(b.start_time, :start), least(b.end_time, :end)) AS span
  FROM bookings AS b
 WHERE b.start_time < :end AND b.end_time > :start
   AND (CAST(:ids AS integer[]) IS NULL OR b.practitioner_id = ANY (CAST(:ids AS integer[])))
"""

INTERVALS = f"""
SELECT v.practitioner_id, lower(v.span) AS start, upper(v.span) AS "end",
       extract(epoch FROM upper(v.span) - lower(v.span))::float8 / 3600 AS hours
  FROM ({_AVAILABLE}) AS v
"""

# kind: 0 available, 1 booked (pending or confirmed), 2 cancelled.
UTILISATION = f"""
WITH spans AS (
    SELECT v.practitioner_id, 0 AS kind, v.span FROM ({_AVAILABLE}) AS v
    UNION ALL
    SELECT b.practitioner_id, CASE WHEN b.status = 'cancelled' THEN 2 ELSE 1 END, b.span
      FROM ({_BOOKINGS}) AS b
), placed AS (
    SELECT s.practitioner_id, s.kind, s.span,
           date_trunc(:unit, lower(s.span) AT TIME ZONE :tz) AS first_period,
           date_trunc(:unit, (upper(s.span) - interval '1 microsecond') AT TIME ZONE :tz)
               AS last_period
      FROM spans AS s
     WHERE NOT isempty(s.span)
), periods AS (
    SELECT p.local_start,
           greatest(p.local_start AT TIME ZONE :tz, :start) AS lo,
           least((p.local_start + CAST(:step AS interval)) AT TIME ZONE :tz, :end) AS hi
      FROM generate_series(date_trunc(:unit, :start AT TIME ZONE :tz),
                           (:end - interval '1 microsecond') AT TIME ZONE :tz,
                           CAST(:step AS interval)) AS p(local_start)
), pieces AS (
    SELECT pl.practitioner_id, pl.kind, pl.first_period AS local_start,
           extract(epoch FROM upper(pl.span) - lower(pl.span))::float8 / 3600 AS hours
      FROM placed AS pl
     WHERE pl.first_period = pl.last_period
    UNION ALL
    SELECT pl.practitioner_id, pl.kind, p.local_start,
           extract(epoch FROM least(upper(pl.span), p.hi) - greatest(lower(pl.span), p.lo))
               ::float8 / 3600
      FROM placed AS pl
      JOIN periods AS p ON p.local_start BETWEEN pl.first_period AND pl.last_period
     WHERE pl.first_period <> pl.last_period
), totals AS (
    SELECT practitioner_id, local_start,
           coalesce(sum(hours) FILTER (WHERE kind = 0), 0) AS available_hours,
           coalesce(sum(hours) FILTER (WHERE kind = 1), 0) AS booked_hours,
           coalesce(sum(hours) FILTER (WHERE kind = 2), 0) AS cancelled_hours
      FROM pieces
     GROUP BY practitioner_id, local_start
)
SELECT w.practitioner_id, p.local_start AS period_start,
       coalesce(t.available_hours, 0) AS available_hours,
       coalesce(t.booked_hours, 0) AS booked_hours,
       coalesce(t.cancelled_hours, 0) AS cancelled_hours,
       t.booked_hours / nullif(t.available_hours, 0) AS utilisation
  FROM (SELECT DISTINCT practitioner_id FROM totals) AS w
 CROSS JOIN periods AS p
  LEFT JOIN totals AS t ON t.practitioner_id = w.practitioner_id AND t.local_start = p.local_start
"""

# Hours are UTC hours (exact for zones with whole-hour offsets), read as local weekday and hour.
# kind: 0 available, 1 booked (pending or confirmed), 2 free (available and not booked).
WEEKDAY_HOUR = f"""
WITH available AS (
    SELECT v.practitioner_id, range_agg(v.span) AS spans FROM ({_AVAILABLE}) AS v
     GROUP BY v.practitioner_id
), booked AS (
    SELECT b.practitioner_id, range_agg(b.span) AS spans FROM ({_BOOKINGS}) AS b
     WHERE b.status <> 'cancelled'
     GROUP BY b.practitioner_id
), spans AS (
    SELECT 0 AS kind, r.span FROM available AS a CROSS JOIN LATERAL unnest(a.spans) AS r(span)
    UNION ALL
    SELECT 1, r.span FROM booked AS b CROSS JOIN LATERAL unnest(b.spans) AS r(span)
    UNION ALL
    SELECT 2, r.span
      FROM available AS a
      LEFT JOIN booked AS b ON b.practitioner_id = a.practitioner_id
     CROSS JOIN LATERAL unnest(a.spans - coalesce(b.spans, '{{}}'::tstzmultirange)) AS r(span)
), pieces AS (
    SELECT s.kind, h.hour_start,
           extract(epoch FROM least(upper(s.span), h.hour_start + interval '1 hour')
                              - greatest(lower(s.span), h.hour_start))::float8 / 3600 AS hours
      FROM spans AS s
     CROSS JOIN LATERAL generate_series(date_trunc('hour', lower(s.span), 'UTC'),
                                        upper(s.span) - interval '1 microsecond',
                                        interval '1 hour') AS h(hour_start)
     WHERE NOT isempty(s.span)
)
SELECT extract(isodow FROM p.hour_start AT TIME ZONE :tz)::integer - 1 AS weekday_number,
       extract(hour FROM p.hour_start AT TIME ZONE :tz)::integer AS hour,
       coalesce(sum(p.hours) FILTER (WHERE p.kind = 0), 0) AS available_hours,
       coalesce(sum(p.hours) FILTER (WHERE p.kind = 1), 0) AS booked_hours,
       coalesce(sum(p.hours) FILTER (WHERE p.kind = 2), 0) AS free_hours
  FROM pieces AS p
 GROUP BY 1, 2
"""
