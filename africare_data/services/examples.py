"""CRUD for the ``Example`` entity, with the original design document's signatures.

``get_example`` / ``update_example`` return ``None`` for an unknown id and ``delete_example``
returns ``False``, as in that document; bad input raises
:class:`~africare_data.errors.InvalidInputError` before anything is written. The id parameter is
``example_id``, the document's name
(``get_example(db, example_id=1)``), as in the API's routes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.models import Example
from africare_data.schemas.example import ExampleCreate, ExampleUpdate
from africare_data.schemas.page import Page
from africare_data.services._transaction import reading, reload_if_expired, validated, writing
from africare_data.services._validation import lookup_id

__all__ = ["create_example", "delete_example", "get_example", "get_examples", "update_example"]


async def create_example(db: AsyncSession, name: str, description: str | None = None) -> Example:
    """Insert an example and return it with its id and ``created_at``."""
    data = validated(ExampleCreate, name=name, description=description)
    example = Example(name=data.name, description=data.description)
    async with writing(db):
        db.add(example)
        await db.flush()
        await db.refresh(example)
    await reload_if_expired(db, example)
    return example


async def get_example(db: AsyncSession, example_id: int) -> Example | None:
    """The example with ``example_id``, or ``None``."""
    found_id = lookup_id("example_id", example_id)
    if found_id is None:
        return None
    async with reading(db):
        return await db.get(Example, found_id)


async def get_examples(db: AsyncSession, limit: int = 100, offset: int = 0) -> Sequence[Example]:
    """A page of examples ordered by id (``limit`` 0..1000, ``offset`` >= 0)."""
    page = validated(Page, limit=limit, offset=offset)
    async with reading(db):
        result = await db.execute(
            select(Example).order_by(Example.id).limit(page.limit).offset(page.offset)
        )
        return result.scalars().all()


async def update_example(
    db: AsyncSession,
    example_id: int,
    name: str | None = None,
    description: str | None = None,
) -> Example | None:
    """Change only the fields given (not ``None``); ``updated_at`` moves. ``None`` if not found."""
    changes = validated(ExampleUpdate, name=name, description=description).model_dump(
        exclude_none=True
    )
    found_id = lookup_id("example_id", example_id)
    if found_id is None:
        return None
    async with writing(db):
        example = await db.get(Example, found_id, with_for_update=True)
        if example is None:
            return None
        for field, value in changes.items():
            setattr(example, field, value)
        # An update with nothing to change still records that it happened.
        example.updated_at = func.now()
        await db.flush()
        await db.refresh(example)
    await reload_if_expired(db, example)
    return example


async def delete_example(db: AsyncSession, example_id: int) -> bool:
    """Delete the example with ``example_id``; ``False`` if there was none."""
    found_id = lookup_id("example_id", example_id)
    if found_id is None:
        return False
    async with writing(db):
        result = await db.execute(
            delete(Example).where(Example.id == found_id).returning(Example.id)
        )
        deleted = result.scalar_one_or_none() is not None
    return deleted
