"""The SQL of the capacity frames (:mod:`africare_data.frames.availability`).

Parameters: ``:start`` and ``:end`` (the window, timestamptz), ``:ids`` (practitioners, an
``integer[]``; ``NULL``: all), ``:tz`` (the zone periods and hours are read in), ``:unit`` and
``:step`` (the period: ``day``/``1 day``, ``week``/``7 days``, ``month``/``1 month``).

A span (an available interval, a booking clipped to the window) is placed in its period or hour
by ``width_bucket`` over the edges, computed once (a binary search per span, no time zone
arithmetic per row). Spans inside one period are summed directly; the few that cross an edge
are split at it by a short series over the periods they touch.
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

# Each span is placed in its period by width_bucket over the period edges, computed once (a
# binary search per span, no time zone arithmetic per row): its hours inside that period, and
# what spills into the next one. Spans crossing two edges or more (rare: periods are days or
# longer) stay apart in the grouping and are split at every edge. Bookings and availability are
# aggregated apart, so each big aggregation stays narrow.
_PLACED = """
SELECT x.practitioner_id, x.kind, x.bucket,
       CASE WHEN x.e > x.edges[x.bucket + 2] THEN x.s END AS s,
       CASE WHEN x.e > x.edges[x.bucket + 2] THEN x.e END AS e,
       sum(date_part('epoch', least(x.e, x.edges[x.bucket + 1]) - x.s)) / 3600 AS inside,
       sum(date_part('epoch', least(x.e, x.edges[x.bucket + 2]) - x.edges[x.bucket + 1]))
           FILTER (WHERE x.e > x.edges[x.bucket + 1]) / 3600 AS spill
  FROM (SELECT y.*, width_bucket(y.s, y.edges) AS bucket
          FROM ({spans}) AS y) AS x
 GROUP BY 1, 2, 3, 4, 5
"""

_EDGES = """(SELECT array_agg(p.local_start AT TIME ZONE :tz ORDER BY p.local_start)
  FROM generate_series(date_trunc(:unit, :start AT TIME ZONE :tz),
                       date_trunc(:unit, (:end - interval '1 microsecond') AT TIME ZONE :tz)
                           + CAST(:step AS interval),
                       CAST(:step AS interval)) AS p(local_start))"""

_AVAILABLE_SPANS = f"""
SELECT v.practitioner_id, 0 AS kind, lower(v.span) AS s, upper(v.span) AS e, {_EDGES} AS edges
  FROM ({_AVAILABLE}) AS v
"""

_BOOKING_SPANS = f"""
SELECT b.practitioner_id, CASE WHEN b.status = 'cancelled' THEN 2 ELSE 1 END AS kind,
       greatest(b.start_time, :start) AS s, least(b.end_time, :end) AS e, {_EDGES} AS edges
  FROM bookings AS b
 WHERE b.start_time < :end AND b.end_time > :start
   AND (CAST(:ids AS integer[]) IS NULL OR b.practitioner_id = ANY (CAST(:ids AS integer[])))
"""

# kind: 0 available, 1 booked (pending or confirmed), 2 cancelled.
UTILISATION = f"""
WITH bounds AS (
    SELECT {_EDGES} AS edges,
           array_agg(p.local_start ORDER BY p.local_start) AS locals
      FROM generate_series(date_trunc(:unit, :start AT TIME ZONE :tz),
                           date_trunc(:unit, (:end - interval '1 microsecond') AT TIME ZONE :tz),
                           CAST(:step AS interval)) AS p(local_start)
), grouped AS (
    {_PLACED.format(spans=_AVAILABLE_SPANS)}
    UNION ALL
    {_PLACED.format(spans=_BOOKING_SPANS)}
), pieces AS (
    SELECT g.practitioner_id, g.kind, g.bucket, g.inside AS hours
      FROM grouped AS g WHERE g.s IS NULL
    UNION ALL
    SELECT g.practitioner_id, g.kind, g.bucket + 1, g.spill
      FROM grouped AS g WHERE g.s IS NULL AND g.spill IS NOT NULL
    UNION ALL
    SELECT g.practitioner_id, g.kind, i.bucket,
           date_part('epoch', least(g.e, d.edges[i.bucket + 1])
                              - greatest(g.s, d.edges[i.bucket])) / 3600
      FROM grouped AS g
     CROSS JOIN bounds AS d
     CROSS JOIN LATERAL generate_series(g.bucket, width_bucket(g.e - interval '1 microsecond',
                                                              d.edges)) AS i(bucket)
     WHERE g.s IS NOT NULL
), totals AS (
    SELECT practitioner_id, bucket,
           coalesce(sum(hours) FILTER (WHERE kind = 0), 0) AS available_hours,
           coalesce(sum(hours) FILTER (WHERE kind = 1), 0) AS booked_hours,
           coalesce(sum(hours) FILTER (WHERE kind = 2), 0) AS cancelled_hours
      FROM pieces
     GROUP BY practitioner_id, bucket
)
SELECT w.practitioner_id, d.locals[i.bucket] AS period_start,
       coalesce(t.available_hours, 0) AS available_hours,
       coalesce(t.booked_hours, 0) AS booked_hours,
       coalesce(t.cancelled_hours, 0) AS cancelled_hours,
       t.booked_hours / nullif(t.available_hours, 0) AS utilisation
  FROM (SELECT DISTINCT practitioner_id FROM totals) AS w
 CROSS JOIN bounds AS d
 CROSS JOIN LATERAL generate_series(1, cardinality(d.locals)) AS i(bucket)
  LEFT JOIN totals AS t ON t.practitioner_id = w.practitioner_id AND t.bucket = i.bucket
"""

# The same placement over the UTC hours of the window (exact for zones with whole-hour offsets,
# as all of Africa's are), each hour read once as a local weekday and hour.
# kind: 0 available, 1 booked (pending or confirmed), 2 free (available and not booked).
WEEKDAY_HOUR = f"""
WITH bounds AS (
    SELECT array_agg(h ORDER BY h) AS edges
      FROM generate_series(date_bin(interval '1 hour', :start, TIMESTAMPTZ '2000-01-01 00:00+00'),
                           :end + interval '1 hour', interval '1 hour') AS h
), available AS (
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
), placed AS (
    SELECT s.kind, lower(s.span) AS s, upper(s.span) AS e,
           width_bucket(lower(s.span), d.edges) AS first_bucket,
           width_bucket(upper(s.span) - interval '1 microsecond', d.edges) AS last_bucket
      FROM spans AS s CROSS JOIN bounds AS d
     WHERE NOT isempty(s.span)
), pieces AS (
    SELECT p.kind, i.bucket,
           date_part('epoch', least(p.e, d.edges[i.bucket + 1])
                              - greatest(p.s, d.edges[i.bucket])) / 3600 AS hours
      FROM placed AS p
     CROSS JOIN bounds AS d
     CROSS JOIN LATERAL generate_series(p.first_bucket, p.last_bucket) AS i(bucket)
), per_hour AS (
    SELECT bucket,
           coalesce(sum(hours) FILTER (WHERE kind = 0), 0) AS available_hours,
           coalesce(sum(hours) FILTER (WHERE kind = 1), 0) AS booked_hours,
           coalesce(sum(hours) FILTER (WHERE kind = 2), 0) AS free_hours
      FROM pieces GROUP BY bucket
)
SELECT extract(isodow FROM d.edges[h.bucket] AT TIME ZONE :tz)::integer - 1 AS weekday_number,
       extract(hour FROM d.edges[h.bucket] AT TIME ZONE :tz)::integer AS hour,
       sum(h.available_hours) AS available_hours,
       sum(h.booked_hours) AS booked_hours,
       sum(h.free_hours) AS free_hours
  FROM per_hour AS h CROSS JOIN bounds AS d
 GROUP BY 1, 2
"""
