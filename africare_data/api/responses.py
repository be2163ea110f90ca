"""JSON responses serialised once, by pydantic.

A route that returns a schema has FastAPI validate it against the route's response model and then
serialise it. :func:`json_response` makes the body in one step instead; the route keeps
``response_model=`` in its decorator, so the OpenAPI document is unchanged, and the body is the
same bytes FastAPI would send (the same pydantic serialiser; ``tests/test_api_responses.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Response
from pydantic import BaseModel
from pydantic_core import to_json

__all__ = ["json_response"]


def json_response(content: BaseModel | Sequence[BaseModel], status_code: int = 200) -> Response:
    """``content`` (a schema, or a list of them) as an ``application/json`` response."""
    return Response(to_json(content), status_code=status_code, media_type="application/json")
