"""Deterministic demo data that looks like a real clinic network, and its bulk load by ``COPY``.

:func:`generate_demo` draws a network of practitioners in six African countries, each with a
specialty (event types with their own durations), a full-time or part-time weekly schedule, their
country's public holidays and their own leave, and demand that differs from one to the next. Its
bookings fall inside the schedules, never overlap, are made from the same day to weeks ahead, and
some are cancelled (when and why) or rescheduled; patients come back. The same arguments give the
same data, bit for bit, on every machine.

:func:`generate_bookings` returns the bookings alone; :func:`load_bookings` writes any bookings
frame with one binary ``COPY``; :func:`load_demo` writes the whole data set in one transaction.
"""

from africare_data.synthetic._bookings import CANCELLATION_REASONS
from africare_data.synthetic._calendar import LEAVE_REASONS
from africare_data.synthetic._demo import DemoData, generate_bookings, generate_demo
from africare_data.synthetic._load import (
    BOOKING_COLUMNS,
    _records,
    load_bookings,
    load_demo,
    seeded_rows,
)
from africare_data.synthetic._network import COUNTRIES, SCHEDULES, SPECIALTIES

__all__ = [
    "BOOKING_COLUMNS",
    "CANCELLATION_REASONS",
    "COUNTRIES",
    "LEAVE_REASONS",
    "SCHEDULES",
    "SPECIALTIES",
    "DemoData",
    "generate_bookings",
    "generate_demo",
    "load_bookings",
    "load_demo",
    "seeded_rows",
]

# ``_records`` stays importable for benchmarks/bench_frames.py (its bare-COPY comparison).
_ = _records
