"""The dependencies routes share: one session per request, from the toolkit's own factory.

Routes take ``db: SessionDep``; tests and embedding applications swap the database with
``app.dependency_overrides[get_session] = ...`` (``africare_data.database.get_session``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.database import get_session

__all__ = ["SessionDep"]

SessionDep = Annotated[AsyncSession, Depends(get_session)]
