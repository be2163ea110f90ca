"""How every service call runs: the transaction contract, in one place.

1. **Input is checked before any I/O.** Bad input raises
   :class:`~africare_data.errors.InvalidInputError` (or a subclass), and an id no row can have is
   answered at once (``None``, ``False`` or an empty list); either way the session is untouched.
2. **A writing call that returns has committed the session's transaction.** Work the caller added
   or flushed before the call is committed with the call's own: a writing call is a commit point,
   like ``db.commit()``. (Returning ``None`` or ``False`` for a row that is not there is a
   return.) Reads commit nothing; they run in the session's transaction, beginning one if needed.
3. **A writing call that raises commits nothing, and leaves the session as it found it.** Its own
   statements run in a SAVEPOINT and are undone, whatever refused them (a domain error, or any
   database error); the locks they took (e.g. the no-overlap rule's practitioner lock) go with
   them. Then:

   a. If the caller had work in progress when the call began (pending, dirty or deleted objects,
      or an open transaction, however begun: the session cannot tell reads from flushed writes),
      that work stays in the session, flushed but uncommitted, in a transaction left open: the
      caller commits or rolls it back. Until then the transaction holds what the caller's own
      work locked (rows it changed, the practitioner lock a flushed booking took).
   b. If not, the call ends the transaction it began without committing anything of anyone's.

   Either way the objects the caller holds stay loaded, not expired (in async code, touching an
   expired attribute raises ``MissingGreenlet``): the few the undone statements had changed are
   read again.
4. **The session stays usable after any refusal.** When the transaction itself cannot continue
   (the connection was lost, a read failed on the database, the caller's own pending objects
   could not be flushed, the call was interrupted by cancellation or ``KeyboardInterrupt``), it
   is rolled back as a whole: still nothing is committed, but the caller's uncommitted work is
   gone with it.

:func:`writing` is the boundary of a writing call (:func:`committing`) around one
:func:`savepoint`; a call that retries or explains a refusal uses the two separately, and every
statement it runs inside the boundary is in a savepoint or a :func:`reading` block. How a call
achieves rule 3 (a SAVEPOINT, or a plain ROLLBACK when nothing was in progress) is not part of
the contract.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pydantic
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

from africare_data.errors import (
    InvalidInputError,
    sqlstate,
    translate_integrity_errors,
)
from africare_data.models.base import MAX_ID

__all__ = [
    "committing",
    "has_work_in_progress",
    "reading",
    "reload_if_expired",
    "retrying",
    "savepoint",
    "storable_id",
    "validated",
    "writing",
]

SchemaT = TypeVar("SchemaT", bound=pydantic.BaseModel)
ResultT = TypeVar("ResultT")

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
"""Deadlock detected, serialization failure: PostgreSQL aborted the write; running it again is safe.

Writers of bookings queue on per-practitioner advisory locks, taken in ascending order by the
no-overlap triggers, so a deadlock should not happen; should PostgreSQL still abort one (e.g. a
row lock taken by another writer in another order), retrying is the backstop. The
failed attempt's SAVEPOINT was rolled back, so the retry starts from the state before it and,
under READ COMMITTED, sees the winner's committed row.
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
    """One writing call, its statements all in one savepoint: commit, or refuse per the contract."""
    async with committing(db), savepoint(db):
        yield


@asynccontextmanager
async def committing(db: AsyncSession) -> AsyncIterator[None]:
    """The boundary of one writing call: commit on success; on a refusal, commit nothing.

    What a refusal leaves behind depends on whether the caller had work in progress when the
    call began (rule 3 of the module docstring).
    """
    caller_work = has_work_in_progress(db)
    try:
        yield
    except BaseException as error:
        if not isinstance(error, Exception) or _transaction_failed(db):
            await db.rollback()  # interrupted, or the transaction cannot continue
        elif db.in_transaction() and not caller_work:
            await _end_undone(db)
        raise
    try:
        await db.commit()
    except BaseException:
        await db.rollback()
        raise


@asynccontextmanager
async def savepoint(db: AsyncSession) -> AsyncIterator[None]:
    """Run the block in a SAVEPOINT: on an error only its statements are undone.

    ``IntegrityError`` for a rule we know becomes the matching domain error. Beginning the
    SAVEPOINT flushes the caller's pending objects first, so they are not undone with the block.
    """
    nested = await db.begin_nested()
    try:
        with translate_integrity_errors():
            yield
            await nested.commit()
    except Exception:
        await _undo(db, nested)
        raise


async def _undo(db: AsyncSession, nested: AsyncSessionTransaction) -> None:
    """Roll back to the SAVEPOINT and read again what the undo expired; if that fails, the
    transaction cannot continue: roll it all back (committing nothing)."""
    try:
        await nested.rollback()  # after a failed flush: only closes it, the flush rolled it back
        for instance in list(db.identity_map.values()):
            if inspect(instance).expired:
                await db.refresh(instance)
    except Exception:
        await db.rollback()


async def _end_undone(db: AsyncSession) -> None:
    """End the call's own transaction, whose statements were all undone: its COMMIT writes
    nothing, and unlike a ROLLBACK it leaves the session's objects loaded."""
    try:
        await db.commit()
    except Exception:
        await db.rollback()


def has_work_in_progress(db: AsyncSession) -> bool:
    """Whether the session holds anything a commit would write or end: changed objects or an
    open transaction."""
    return db.in_transaction() or bool(db.new) or bool(db.dirty) or bool(db.deleted)


def _transaction_failed(db: AsyncSession) -> bool:
    transaction = db.sync_session.get_transaction()
    return transaction is not None and not transaction.is_active


async def retrying(operation: Callable[[], Awaitable[ResultT]]) -> ResultT:
    """Await ``operation()``, again (up to :data:`RETRY_ATTEMPTS` times) after a deadlock abort.

    ``operation`` must be a whole :func:`savepoint` block, so each attempt starts from the
    state before it.
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
    """Run a read in the session's transaction; if the database fails it, PostgreSQL cannot
    continue the transaction: roll it back, so the session recovers (rule 4)."""
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
