"""Typed pandas DataFrames from SQLAlchemy statements, at ``COPY`` speed for large results.

Every function takes an ``AsyncSession`` or an ``AsyncConnection`` and returns a frame whose
columns and dtypes follow from the selected columns' SQL types, so an empty result keeps its
schema. The modules, one job each:

* :mod:`.arguments`: the functions' arguments, checked as the services check theirs;
* :mod:`.dtypes`: the pandas dtype of each selected column, from its SQL type;
* :mod:`.conversion`: whole Arrow columns and driver rows into those pandas columns;
* :mod:`.assembly`: streamed record batches into those columns, several streams joined and
  sorted;
* :mod:`.transport`: how rows travel (the session's asyncpg connection, or ADBC ``COPY``
  streams sharing the session's snapshot), and which values may be written into SQL;
* :mod:`.statements`: the SQL handed to asyncpg, compiled once per statement shape;
* :mod:`.reading`: :func:`read_frame`, which picks the path, and the sorted parallel read;
* :mod:`.tables`: one frame per table;
* :mod:`.analytics`: booking counts per day, per practitioner, per weekday and hour;
* :mod:`.availability`: available, booked and free hours (utilisation, the capacity heatmap).
"""

from __future__ import annotations

from africare_data.frames.analytics import (
    bookings_per_day,
    practitioner_summary,
    weekday_hour_counts,
)
from africare_data.frames.availability import (
    availability_frame,
    capacity_by_weekday_hour,
    utilisation_frame,
)
from africare_data.frames.dtypes import STATUS_DTYPE
from africare_data.frames.reading import FAST_PATH_MIN_ROWS, read_frame
from africare_data.frames.tables import (
    bookings_frame,
    event_types_frame,
    examples_frame,
    iter_bookings_frames,
    posts_frame,
    users_frame,
)

__all__ = [
    "FAST_PATH_MIN_ROWS",
    "STATUS_DTYPE",
    "availability_frame",
    "bookings_frame",
    "bookings_per_day",
    "capacity_by_weekday_hour",
    "event_types_frame",
    "examples_frame",
    "iter_bookings_frames",
    "posts_frame",
    "practitioner_summary",
    "read_frame",
    "users_frame",
    "utilisation_frame",
    "weekday_hour_counts",
]
