"""A page of an ordered list (``limit``, ``offset``): query parameters and service arguments."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from africare_data.schemas.types import NOT_A_BOOLEAN

__all__ = ["MAX_OFFSET", "MAX_PAGE_SIZE", "Page"]

MAX_PAGE_SIZE = 1000
"""The most rows one page holds."""

MAX_OFFSET = 2**63 - 1
"""The largest ``OFFSET`` PostgreSQL takes (a ``bigint``)."""


class Page(BaseModel):
    """Skip ``offset`` rows, then return at most ``limit``.

    The values may come from a query string, so ``"10"`` reads as 10; booleans are refused.
    """

    limit: Annotated[int, Field(ge=0, le=MAX_PAGE_SIZE), NOT_A_BOOLEAN] = Field(
        100, description="At most this many rows"
    )
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET), NOT_A_BOOLEAN] = Field(
        0, description="Rows skipped first"
    )
