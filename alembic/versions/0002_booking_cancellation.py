"""Booking cancellation: when and why a booking was cancelled.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "bookings", sa.Column("cancellation_reason", sa.String(length=500), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("bookings", "cancellation_reason")
    op.drop_column("bookings", "cancelled_at")
