"""Example CRUD through the services, with the original document's signatures and contracts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data.database import make_session_maker
from africare_data.errors import InvalidInputError
from africare_data.models import Example
from africare_data.schemas import ExampleResponse
from africare_data.services import (
    create_example,
    delete_example,
    get_example,
    get_examples,
    update_example,
)


async def example_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Example))).scalar_one()


async def test_create_and_get(session: AsyncSession) -> None:
    created = await create_example(session, "Malaria screening", "rapid test")
    assert created.id is not None
    assert created.created_at is not None
    assert created.updated_at is None
    fetched = await get_example(session, created.id)
    assert fetched is not None
    assert (
        ExampleResponse.model_validate(fetched).model_dump()
        == ExampleResponse.model_validate(created).model_dump()
    )
    assert fetched.description == "rapid test"


async def test_get_missing_is_none(session: AsyncSession) -> None:
    assert await get_example(session, 999_999) is None


async def test_get_examples_pages_in_id_order(session: AsyncSession) -> None:
    ids = [(await create_example(session, f"e{index}")).id for index in range(5)]
    assert [example.id for example in await get_examples(session)] == ids
    assert [example.id for example in await get_examples(session, limit=2, offset=1)] == ids[1:3]
    assert list(await get_examples(session, offset=10)) == []


@pytest.mark.parametrize(("limit", "offset"), [(-1, 0), (1001, 0), (10, -1)])
async def test_get_examples_refuses_bad_paging(
    session: AsyncSession, limit: int, offset: int
) -> None:
    with pytest.raises(InvalidInputError, match=r"limit|offset"):
        await get_examples(session, limit=limit, offset=offset)


async def test_update_changes_only_what_is_given(session: AsyncSession) -> None:
    example = await create_example(session, "old name", "old description")
    renamed = await update_example(session, example.id, name="new name")
    assert renamed is not None
    assert (renamed.name, renamed.description) == ("new name", "old description")
    assert renamed.updated_at is not None
    described = await update_example(session, example.id, description="new description")
    assert described is not None
    assert (described.name, described.description) == ("new name", "new description")
    untouched = await update_example(session, example.id)
    assert untouched is not None
    assert (untouched.name, untouched.description) == ("new name", "new description")


async def test_update_missing_is_none(session: AsyncSession) -> None:
    assert await update_example(session, 999_999, name="x") is None


async def test_updated_at_moves_with_each_committed_update(committed_engine: AsyncEngine) -> None:
    async with make_session_maker(committed_engine)() as db:
        example = await create_example(db, "clock")
        first = await update_example(db, example.id, name="tick")
        assert first is not None
        first_update = first.updated_at
        second = await update_example(db, example.id, name="tock")
        assert second is not None
        assert first_update is not None
        assert second.updated_at is not None
        assert example.created_at <= first_update < second.updated_at


async def test_delete(session: AsyncSession) -> None:
    example = await create_example(session, "to delete")
    assert await delete_example(session, example.id) is True
    assert await get_example(session, example.id) is None
    assert await delete_example(session, example.id) is False


@pytest.mark.parametrize(
    ("name", "description", "field"),
    [("", None, "name"), ("n" * 256, None, "name"), ("ok", "d" * 1001, "description")],
    ids=["empty-name", "long-name", "long-description"],
)
async def test_bad_input_is_refused_before_writing(
    session: AsyncSession, name: str, description: str | None, field: str
) -> None:
    await create_example(session, "existing")
    with pytest.raises(InvalidInputError, match=field):
        await create_example(session, name, description)
    assert await example_count(session) == 1
    existing = (await get_examples(session))[0]
    with pytest.raises(InvalidInputError, match=field):
        await update_example(
            session, existing.id, name=name if field == "name" else None, description=description
        )
    assert (await get_example(session, existing.id)) is existing
    assert existing.name == "existing"
    # The session is still usable after a refusal.
    assert (await create_example(session, "after")).name == "after"


@pytest.mark.parametrize("impossible_id", [0, -1, 2**31, 2**63])
async def test_ids_no_row_can_have_are_simply_not_found(
    session: AsyncSession, impossible_id: int
) -> None:
    assert await get_example(session, impossible_id) is None
    assert await update_example(session, impossible_id, name="x") is None
    assert await delete_example(session, impossible_id) is False
