"""How every service call runs: validate first, then one transaction that commits or rolls back.

Writes run in a SAVEPOINT inside the session's transaction and commit on success. When the database
refuses a write for a known reason (a constraint we translate), only that SAVEPOINT is rolled back:
the caller's other objects stay loaded, which matters in async code, where touching an expired
attribute fails. Any other error rolls the whole session back. Either way the session stays usable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pydantic
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.errors import AfricareDataError, InvalidInputError, translate_integrity_errors

__all__ = ["reading", "reload_if_expired", "validated", "writing"]

SchemaT = TypeVar("SchemaT", bound=pydantic.BaseModel)


def validated(
    schema: type[SchemaT], error_class: type[InvalidInputError] = InvalidInputError, **data: Any
) -> SchemaT:
    """``schema(**data)``, refusing bad input with ``error_class`` (field and reason named)."""
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as error:
        raise error_class(describe(error)) from None


def describe(error: pydantic.ValidationError) -> str:
    """A one-line summary of a validation error: ``field: reason; field: reason``."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


@asynccontextmanager
async def writing(db: AsyncSession) -> AsyncIterator[None]:
    """Run the block in a SAVEPOINT and commit; translate constraint errors; roll back on error."""
    try:
        with translate_integrity_errors():
            async with db.begin_nested():
                yield
            await db.commit()
    except AfricareDataError:
        # A translated constraint violation: the SAVEPOINT is rolled back already and the
        # session's transaction is intact, unless the failure came from the final commit.
        if _transaction_failed(db):
            await db.rollback()
        raise
    except BaseException:
        await db.rollback()
        raise


def _transaction_failed(db: AsyncSession) -> bool:
    transaction = db.sync_session.get_transaction()
    return transaction is not None and not transaction.is_active


@asynccontextmanager
async def reading(db: AsyncSession) -> AsyncIterator[None]:
    """Run a read in the session's transaction; roll back if it fails, so the session recovers."""
    try:
        yield
    except BaseException:
        await db.rollback()
        raise


async def reload_if_expired(db: AsyncSession, *instances: object) -> None:
    """Reload ``instances`` when the session expires objects on commit (the default sessions don't).

    The toolkit's session makers use ``expire_on_commit=False``; a caller's plain
    ``AsyncSession`` does expire, and an expired attribute cannot load implicitly in async code.
    """
    if db.sync_session.expire_on_commit:
        for instance in instances:
            await db.refresh(instance)
