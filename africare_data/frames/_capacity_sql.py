"""The SQL of the capacity frames (:mod:`africare_data.frames.availability`).

Parameters: ``:start`` and ``:end`` (the window, timestamptz), ``:ids`` (practitioners, an
``integer[]``; ``NULL``: all), ``:tz`` (the zone periods and hours are read in), ``:unit`` and
``:step`` (the period: ``day``/``1 day``, ``week``/``7 days``, ``month``/``1 month``).

A span (an available interval, a booking) is placed in its period or hour by ``width_bucket``
over the edges, computed once (a binary search per span, no time zone arithmetic per row).
:data:`UTILISATION` groups spans by their first and last piece and derives every piece's hours
from the group's sums; :data:`WEEKDAY_HOUR` splits each span at the hours it touches.
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

# Available hours are summed once per schedule (practitioners sharing weekly rules, see
# availability_schedules), then corrected per practitioner with exceptions: minus the schedule
# hours its time off covers, plus the extra hours neither its schedule nor its time off hold.
# That is exactly (schedule + extra) - time off, the hours practitioner_availability returns,
# without a year of ranges per practitioner. Kinds: 0 added, 1 booked (pending or confirmed),
# 2 cancelled, 3 removed, 4 a schedule's hours (``owner`` is then the schedule, else the
# practitioner).
_SPANS = """
SELECT s.schedule AS owner, 4 AS kind, lower(r.span) AS s, upper(r.span) AS e
  FROM schedules AS s CROSS JOIN LATERAL unnest(s.weekly) AS r(span)
UNION ALL
SELECT c.practitioner_id, 3, lower(r.span), upper(r.span)
  FROM changes AS c CROSS JOIN LATERAL unnest(c.removed) AS r(span)
UNION ALL
SELECT c.practitioner_id, 0, lower(r.span), upper(r.span)
  FROM changes AS c CROSS JOIN LATERAL unnest(c.added) AS r(span)
UNION ALL
SELECT b.practitioner_id, CASE WHEN b.status = 'cancelled' THEN 2 ELSE 1 END,
       b.start_time, b.end_time
  FROM bookings AS b
 WHERE b.start_time < :end AND b.end_time > :start
   AND (CAST(:ids AS integer[]) IS NULL OR b.practitioner_id = ANY (CAST(:ids AS integer[])))
"""

# Spans are cut at the window's ends and at every period start inside it. Spans sharing an
# owner, kind, first and last piece are grouped in one pass that only counts them and sums their
# lengths and, for the few that cross a cut, their starts (seconds since the epoch): no clipping
# or splitting per row. A group in one piece has its summed length there; for a group across
# pieces the first piece runs from the spans' starts, the last to their ends (starts plus
# lengths), and the ones between are whole (n times their length). Pieces outside the window
# (before :start, after :end) are never generated. Available hours are rounded to the
# microsecond, so a week whose hours time off removes entirely has none rather than a float
# residue of the subtraction.
UTILISATION = f"""
WITH periods AS (
    SELECT array_agg(p.local_start ORDER BY p.local_start) AS locals,
           array_agg(p.local_start AT TIME ZONE :tz ORDER BY p.local_start) AS starts
      FROM generate_series(date_trunc(:unit, :start AT TIME ZONE :tz),
                           date_trunc(:unit, (:end - interval '1 microsecond') AT TIME ZONE :tz),
                           CAST(:step AS interval)) AS p(local_start)
), bounds AS (
    -- The cuts, in seconds since the epoch, and the period each piece (from a cut to the next)
    -- falls in, computed once for all spans.
    SELECT array_agg(u.cut ORDER BY u.cut) AS cuts,
           array_agg(date_part('epoch', u.cut) ORDER BY u.cut) AS edges,
           array_agg(width_bucket(u.cut, p.starts) ORDER BY u.cut) AS buckets
      FROM (SELECT unnest(p.starts) FROM periods AS p
            UNION SELECT :start
            UNION SELECT :end) AS u(cut)
     CROSS JOIN periods AS p
     WHERE u.cut >= :start AND u.cut <= :end
), schedules AS MATERIALIZED (
    -- A schedule is named by its first member (members belong to one schedule each).
    SELECT s.members[1] AS schedule, s.members, s.weekly
      FROM availability_schedules(:start, :end, CAST(:ids AS integer[])) AS s
), members AS (
    SELECT s.schedule, m.practitioner_id
      FROM schedules AS s CROSS JOIN LATERAL unnest(s.members) AS m(practitioner_id)
), changes AS MATERIALIZED (
    SELECT x.practitioner_id,
           coalesce(s.weekly * x.time_off, '{{}}') AS removed,
           coalesce(x.extra - coalesce(s.weekly, '{{}}') - coalesce(x.time_off, '{{}}'), '{{}}')
               AS added,
           -- Nothing left to work (the practitioner is listed only for its bookings).
           coalesce(x.time_off @> (coalesce(s.weekly, '{{}}') + coalesce(x.extra, '{{}}')), FALSE)
               AS none_left
      FROM practitioner_exceptions(:start, :end, CAST(:ids AS integer[])) AS x
      LEFT JOIN members AS m ON m.practitioner_id = x.practitioner_id
      LEFT JOIN schedules AS s ON s.schedule = m.schedule
), placed AS (
    SELECT x.owner, x.kind, x.s, x.e,
           width_bucket(x.s, d.cuts) AS first_piece, width_bucket(x.e, d.cuts) AS last_piece
      FROM ({_SPANS}) AS x
     CROSS JOIN bounds AS d
), grouped AS (
    SELECT x.owner, x.kind, x.first_piece, x.last_piece, count(*) AS n,
           sum(date_part('epoch', x.e - x.s)) AS seconds,
           sum(date_part('epoch', x.s)) FILTER (WHERE x.first_piece <> x.last_piece) AS starts
      FROM placed AS x
     GROUP BY 1, 2, 3, 4
), pieces AS (
    -- Most groups lie in one piece: their summed length, no series.
    SELECT g.owner, g.kind, d.buckets[g.first_piece] AS bucket, g.seconds / 3600 AS hours
      FROM grouped AS g CROSS JOIN bounds AS d
     WHERE g.first_piece = g.last_piece AND g.first_piece BETWEEN 1 AND cardinality(d.cuts) - 1
    UNION ALL
    SELECT g.owner, g.kind, d.buckets[k.piece],
           (CASE WHEN k.piece = g.last_piece THEN g.starts + g.seconds
                 ELSE g.n * d.edges[k.piece + 1] END
            - CASE WHEN k.piece = g.first_piece THEN g.starts
                   ELSE g.n * d.edges[k.piece] END) / 3600
      FROM grouped AS g
     CROSS JOIN bounds AS d
     CROSS JOIN LATERAL generate_series(greatest(g.first_piece, 1),
                                        least(g.last_piece, cardinality(d.cuts) - 1)) AS k(piece)
     WHERE g.first_piece <> g.last_piece
), shared AS (
    -- A schedule's hours per period, summed once and given to each member.
    SELECT m.practitioner_id, s.bucket, s.hours
      FROM (SELECT x.owner, x.bucket, sum(x.hours) AS hours FROM pieces AS x
             WHERE x.kind = 4 GROUP BY 1, 2) AS s
      JOIN members AS m ON m.schedule = s.owner
), totals AS (
    SELECT x.owner AS practitioner_id, x.bucket,
           round((coalesce(sum(x.hours) FILTER (WHERE x.kind IN (0, 4)), 0)
                  - coalesce(sum(x.hours) FILTER (WHERE x.kind = 3), 0)) * 3600e6) / 3600e6
               AS available_hours,
           coalesce(sum(x.hours) FILTER (WHERE x.kind = 1), 0) AS booked_hours,
           coalesce(sum(x.hours) FILTER (WHERE x.kind = 2), 0) AS cancelled_hours,
           bool_or(x.kind IN (1, 2)) AS booked
      FROM (SELECT y.owner, y.kind, y.bucket, y.hours FROM pieces AS y WHERE y.kind <> 4
            UNION ALL
            SELECT s.practitioner_id, 4, s.bucket, s.hours FROM shared AS s) AS x
     GROUP BY 1, 2
), listed AS (
    SELECT t.practitioner_id
      FROM totals AS t
      LEFT JOIN changes AS c ON c.practitioner_id = t.practitioner_id
     GROUP BY t.practitioner_id
    HAVING bool_or(t.booked) OR NOT coalesce(bool_or(c.none_left), FALSE)
)
SELECT w.practitioner_id, i.period_start,
       coalesce(t.available_hours, 0) AS available_hours,
       coalesce(t.booked_hours, 0) AS booked_hours,
       coalesce(t.cancelled_hours, 0) AS cancelled_hours,
       t.booked_hours / nullif(t.available_hours, 0) AS utilisation
  FROM listed AS w
 CROSS JOIN periods AS p
 -- Rows of (start, number), not the period arrays, go on to the join and the sort.
 CROSS JOIN LATERAL unnest(p.locals) WITH ORDINALITY AS i(period_start, bucket)
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
