"""Bookings: a practitioner's agenda read through one index on (practitioner_id, start_time).

The index on ``practitioner_id`` alone made an agenda (one practitioner, a window of time) read
every booking of that practitioner and filter them by time: 5,000 rows for 400 kept on a year of
a busy practitioner. With ``start_time`` as the second key the scan starts and stops at the
window's ends and comes out in start order. The two-column index serves every query the old one
did (``practitioner_id`` leads), so it replaces it and the table keeps as many indexes to update.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_bookings_practitioner_start", "bookings", ["practitioner_id", "start_time"])
    op.drop_index(op.f("ix_bookings_practitioner_id"), table_name="bookings")


def downgrade() -> None:
    op.create_index(op.f("ix_bookings_practitioner_id"), "bookings", ["practitioner_id"])
    op.drop_index("ix_bookings_practitioner_start", table_name="bookings")
