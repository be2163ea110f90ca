"""How every service call runs: validate first, then one transaction that commits or rolls back.

Writes run in a SAVEPOINT inside the session's transaction and commit on success. When the database
refuses a write for a known reason (a constraint we translate), only that SAVEPOINT is rolled back
and the transaction is ended: the caller's other objects stay loaded, which matters in async code,
where touching an expired attribute fails. Any other error rolls the whole session back (and a
deadlock victim is retried by :func:`retrying`). Either way the session stays usable.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pydantic
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.errors import (
    AfricareDataError,
    InvalidInputError,
    sqlstate,
    translate_integrity_errors,
)
from africare_data.models.base import MAX_ID

__all__ = ["reading", "reload_if_expired", "retrying", "storable_id", "validated", "writing"]

SchemaT = TypeVar("SchemaT", bound=pydantic.BaseModel)
ResultT = TypeVar("ResultT")

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
"""Deadlock detected, serialization failure: PostgreSQL aborted the write; running it again is safe.

Writers of bookings queue on per-practitioner advisory locks, taken in ascending order by the
no-overlap triggers, so a deadlock should not happen; should PostgreSQL still abort one (e.g. a
row lock taken by another writer in another order), retrying is the backstop. The
failed attempt was rolled back in full, so the retry starts a fresh transaction and sees the
winner's committed row.
"""
RETRY_ATTEMPTS = 5


def storable_id(value: int) -> bool:
    """Whether ``value`` fits an id column (PostgreSQL ``integer``, from 1); others name no row.

    Checking first turns an impossible id into "not found" instead of a driver overflow error.
    """
    return 0 < value <= MAX_ID


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
    """Run the block in a SAVEPOINT and commit; translate constraint errors; undo on error.

    On a refusal we recognise (a domain error), only the block's SAVEPOINT is rolled back and the
    session's transaction is then ended with a COMMIT of nothing of ours: locks are released and
    the objects the caller already holds stay loaded (a full ROLLBACK would expire them all, and
    an expired attribute cannot load implicitly in async code). Any other error rolls the whole
    session back.
    """
    try:
        with translate_integrity_errors():
            async with db.begin_nested():
                yield
            await db.commit()
    except AfricareDataError:
        if _transaction_failed(db):
            await db.rollback()
        else:
            await db.commit()
        raise
    except BaseException:
        await db.rollback()
        raise


def _transaction_failed(db: AsyncSession) -> bool:
    transaction = db.sync_session.get_transaction()
    return transaction is not None and not transaction.is_active


async def retrying(operation: Callable[[], Awaitable[ResultT]]) -> ResultT:
    """Await ``operation()``, again (up to :data:`RETRY_ATTEMPTS` times) after a deadlock abort.

    ``operation`` must be a whole :func:`writing` block, so each attempt starts clean.
    """
    attempt = 1
    while True:
        try:
            return await operation()
        except DBAPIError as error:
            if attempt >= RETRY_ATTEMPTS or sqlstate(error) not in TRANSIENT_SQLSTATES:
                raise
        await asyncio.sleep(random.uniform(0, 0.005 * attempt))  # jitter
        attempt += 1


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
