"""How every service call runs: the transaction contract, in one place.

1. **Input is checked before any I/O.** Bad input raises
   :class:`~africare_data.errors.InvalidInputError` (or a subclass), and an id no row can have is
   answered at once (``None``, ``False`` or an empty list); either way the session is untouched.
2. **A writing call that returns has committed the session's transaction.** Work the caller added
   or flushed before the call is committed with the call's own: a writing call is a commit point,
   like ``db.commit()``. (Returning ``None`` or ``False`` for a row that is not there is a
   return.) Reads commit nothing; they run in the session's transaction, beginning one if needed.
3. **A writing call that raises commits nothing, and leaves the session as it found it.** Its own
   statements are undone, whatever refused them (a domain error, or any database error); the
   locks they took (e.g. the no-overlap rule's practitioner lock) go with them. Then:

   a. If the caller had work in progress when the call began (pending, dirty or deleted objects,
      or an open transaction, however begun: the session cannot tell reads from flushed writes),
      that work stays in the session, flushed but uncommitted, in a transaction left open: the
      caller commits or rolls it back. Until then the transaction holds what the caller's own
      work locked (rows it changed, the practitioner lock a flushed booking took).
   b. If not, the call ends the transaction it began without committing anything of anyone's.

   Either way the objects the caller holds stay loaded, not expired (in async code, touching an
   expired attribute raises ``MissingGreenlet``): those the undo expired are read again.
4. **The session stays usable after any refusal.** When the transaction itself cannot continue
   (the connection was lost, a read failed on the database, the caller's own pending objects
   could not be flushed, the call was interrupted by cancellation or ``KeyboardInterrupt``), it
   is rolled back as a whole: still nothing is committed, but the caller's uncommitted work is
   gone with it.

:func:`writing` is the boundary of one writing call. How it keeps rule 3 costs the least round
trips the situation allows: with work of the caller's in progress, the call's statements run in
a SAVEPOINT, so that only they are undone; with none, they are the only statements of the
transaction the call begins (BEGIN, the statements, COMMIT), and a refusal rolls that transaction
back whole. Its ``context`` (the values the call writes, by column name) goes to the one
translator of database errors, :func:`~africare_data.errors.translate_integrity_errors`, so the
domain error names them; services do not catch and re-raise translated errors.
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
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.errors import (
    InvalidInputError,
    sqlstate,
    translate_integrity_errors,
)
from africare_data.models.base import MAX_ID

__all__ = [
    "reading",
    "reload_if_expired",
    "retrying",
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
row lock taken by another writer in another order), retrying is the backstop. The failed
attempt's statements were undone, so the retry starts from the state before it and, under READ
COMMITTED, sees the winner's committed row.
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
async def writing(db: AsyncSession, **context: object) -> AsyncIterator[None]:
    """One writing call: commit on success; on a refusal, commit nothing (the contract's rule 3).

    ``context`` names the values the call writes (``email=...``, ``event_type_id=...``), for the
    domain error a refusal becomes.
    """
    if _has_work_in_progress(db):
        async with _committing(db), _savepoint(db, **context):
            yield
        return
    try:
        with translate_integrity_errors(**context):
            yield
    except BaseException as error:
        await db.rollback()
        if isinstance(error, Exception) and not _connection_lost(error):
            await _reload_expired(db)
        raise
    await _commit(db)


@asynccontextmanager
async def _committing(db: AsyncSession) -> AsyncIterator[None]:
    """The boundary of a call that began with the caller's work in progress: commit on success;
    on a refusal leave that work in its open transaction, unless the transaction cannot go on."""
    try:
        yield
    except BaseException as error:
        if not isinstance(error, Exception) or _transaction_failed(db):
            await db.rollback()  # interrupted, or the transaction cannot continue
        raise
    await _commit(db)


async def _commit(db: AsyncSession) -> None:
    """Commit; a commit that fails (or is interrupted) leaves no transaction half open."""
    try:
        await db.commit()
    except BaseException:
        await db.rollback()
        raise


@asynccontextmanager
async def _savepoint(db: AsyncSession, **context: object) -> AsyncIterator[None]:
    """Run the block in a SAVEPOINT: on an error only its statements are undone.

    ``IntegrityError`` for a rule we know becomes the matching domain error, naming ``context``.
    Beginning the SAVEPOINT flushes the caller's pending objects first, so they are not undone
    with the block.
    """
    nested = await db.begin_nested()
    try:
        with translate_integrity_errors(**context):
            yield
            await nested.commit()
    except Exception:
        try:
            await nested.rollback()  # after a failed flush: only closes it
            await _reload_expired(db, end_transaction=False)
        except Exception:
            await db.rollback()  # the transaction cannot continue: roll it all back
        raise


async def _reload_expired(db: AsyncSession, *, end_transaction: bool = True) -> None:
    """Read again the objects an undo expired, so the caller's stay loaded (rule 3).

    The reads run in a transaction of their own unless ``end_transaction`` is false; its COMMIT
    writes nothing and, unlike a ROLLBACK, leaves the objects loaded. If reading fails, the
    transaction cannot continue: it is rolled back (committing nothing).
    """
    try:
        for instance in list(db.identity_map.values()):
            if inspect(instance).expired:
                await db.refresh(instance)
        if end_transaction and db.in_transaction():
            await db.commit()
    except Exception:
        await db.rollback()


def _connection_lost(error: Exception) -> bool:
    """Whether ``error`` (or the database error under it) says the connection is gone."""
    cause = error if isinstance(error, DBAPIError) else error.__cause__
    return isinstance(cause, DBAPIError) and cause.connection_invalidated


def _has_work_in_progress(db: AsyncSession) -> bool:
    """Whether the session holds anything a commit would write or end: changed objects or an
    open transaction."""
    return db.in_transaction() or bool(db.new) or bool(db.dirty) or bool(db.deleted)


def _transaction_failed(db: AsyncSession) -> bool:
    transaction = db.sync_session.get_transaction()
    return transaction is not None and not transaction.is_active


async def retrying(operation: Callable[[], Awaitable[ResultT]]) -> ResultT:
    """Await ``operation()``, again (up to :data:`RETRY_ATTEMPTS` times) after a deadlock abort.

    ``operation`` must be a whole :func:`writing` call, so each attempt starts from the state
    before it: a refused attempt undid its own statements.
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
