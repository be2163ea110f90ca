"""The declarative base shared by every model.

A naming convention gives every index and constraint a stable, predictable name, so Alembic
migrations can drop and recreate them by name and a constraint violation can be recognised by the
constraint it names.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

__all__ = ["MAX_ID", "NAMING_CONVENTION", "Base"]

MAX_ID = 2**31 - 1
"""The largest value an ``Integer`` id column holds (PostgreSQL ``integer``); ids start at 1."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of all ORM models; ``Base.metadata`` is what Alembic compares against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
