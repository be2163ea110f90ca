"""``/examples``: the original document's CRUD walkthrough over the example services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from africare_data.api.deps import SessionDep
from africare_data.api.errors import MALFORMED_BODY, NOT_FOUND
from africare_data.errors import NotFoundError
from africare_data.schemas import ExampleCreate, ExampleResponse, ExampleUpdate, Page
from africare_data.services import examples

__all__ = ["router"]

router = APIRouter(prefix="/examples", tags=["examples"])

EXAMPLE_NOT_FOUND = "Example not found"


def _not_found(example_id: int) -> NotFoundError:
    return NotFoundError("Example", example_id, message=EXAMPLE_NOT_FOUND)


@router.post("/", status_code=201, responses=MALFORMED_BODY)
async def create_example(data: ExampleCreate, db: SessionDep) -> ExampleResponse:
    """Create an example."""
    example = await examples.create_example(db, data.name, data.description)
    return ExampleResponse.model_validate(example)


@router.get("/")
async def get_examples(db: SessionDep, page: Annotated[Page, Query()]) -> list[ExampleResponse]:
    """A page of examples, ordered by id."""
    rows = await examples.get_examples(db, limit=page.limit, offset=page.offset)
    return [ExampleResponse.model_validate(example) for example in rows]


@router.get("/{example_id}", responses=NOT_FOUND)
async def get_example(example_id: int, db: SessionDep) -> ExampleResponse:
    """One example by id."""
    example = await examples.get_example(db, example_id)
    if example is None:
        raise _not_found(example_id)
    return ExampleResponse.model_validate(example)


@router.patch("/{example_id}", responses={**NOT_FOUND, **MALFORMED_BODY})
async def update_example(example_id: int, data: ExampleUpdate, db: SessionDep) -> ExampleResponse:
    """Change the fields given; fields left out (or ``null``) keep their value."""
    example = await examples.update_example(db, example_id, data.name, data.description)
    if example is None:
        raise _not_found(example_id)
    return ExampleResponse.model_validate(example)


@router.delete("/{example_id}", status_code=204, responses=NOT_FOUND)
async def delete_example(example_id: int, db: SessionDep) -> None:
    """Delete an example."""
    if not await examples.delete_example(db, example_id):
        raise _not_found(example_id)
