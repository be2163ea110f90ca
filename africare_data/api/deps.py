"""The dependencies routes share: one session per request, from the toolkit's own factory.

Routes take ``db: SessionDep``; tests and embedding applications swap the database with
``app.dependency_overrides[get_session] = ...`` (``africare_data.database.get_session``). Routes
that need no ORM session (``api.bookings``' create and agenda) take ``engine: EngineDep``, the
engine that request's session is bound to, so the same override serves them too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data.database import get_session

__all__ = ["EngineDep", "SessionDep"]

SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def _session_engine(db: SessionDep) -> AsyncEngine:
    """The engine of the request's session; a session bound to one connection has none.

    ``async``, though it awaits nothing: FastAPI runs a plain function in a worker thread.
    """
    if not isinstance(db.bind, AsyncEngine):
        raise TypeError(
            "the API's sessions must be bound to an engine (make_session_maker(engine)), "
            f"not {type(db.bind).__name__}"
        )
    return db.bind


EngineDep = Annotated[AsyncEngine, Depends(_session_engine)]
