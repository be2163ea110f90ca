"""Users and posts: unique e-mails, explicit loading, and posts usable after the session closes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data.database import make_session_maker
from africare_data.errors import DuplicateEmailError, InvalidInputError, NotFoundError
from africare_data.models import Post, User
from africare_data.schemas import UserWithPosts
from africare_data.services import (
    create_post,
    create_user,
    find_users_by_email,
    get_user,
    get_user_with_posts,
)


async def count(session: AsyncSession, model: type[User] | type[Post]) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_create_and_get_user(session: AsyncSession) -> None:
    user = await create_user(session, "Amina", "amina@example.org")
    assert user.id is not None
    assert user.created_at is not None
    assert user.posts == []
    assert await get_user(session, user.id) is user
    assert await get_user(session, 999_999) is None


async def test_duplicate_email_is_a_clear_error(session: AsyncSession) -> None:
    first = await create_user(session, "Amina", "amina@example.org")
    with pytest.raises(DuplicateEmailError, match=r"amina@example\.org") as caught:
        await create_user(session, "Someone else", "amina@example.org")
    assert caught.value.email == "amina@example.org"
    assert caught.value.constraint == "ix_users_email"
    assert await count(session, User) == 1
    # The first user is still loaded and the session still works.
    assert first.name == "Amina"
    assert (await create_user(session, "Kofi", "kofi@example.org")).id != first.id


@pytest.mark.parametrize(
    ("name", "email", "field"),
    [
        ("", "a@example.org", "name"),
        ("A", "not-an-address", "email"),
        ("n" * 101, "b@x.org", "name"),
    ],
)
async def test_bad_user_input_is_refused(
    session: AsyncSession, name: str, email: str, field: str
) -> None:
    with pytest.raises(InvalidInputError, match=field):
        await create_user(session, name, email)
    assert await count(session, User) == 0


async def test_create_post_and_unknown_author(session: AsyncSession) -> None:
    user = await create_user(session, "Amina", "amina@example.org")
    post = await create_post(session, user.id, "Clinic hours", "Open 8 to 17.")
    assert (post.id, post.author_id) == (post.id, user.id)
    with pytest.raises(NotFoundError, match="User with id 999999"):
        await create_post(session, 999_999, "Orphan", "No author.")
    with pytest.raises(InvalidInputError, match="title"):
        await create_post(session, user.id, "", "No title.")
    assert await count(session, Post) == 1


async def test_find_users_by_email_ignores_case(session: AsyncSession) -> None:
    amina = await create_user(session, "Amina", "Amina@Example.org")
    await create_user(session, "Kofi", "kofi@example.org")
    found = await find_users_by_email(session, "  amina@example.ORG ")
    assert [user.id for user in found] == [amina.id]
    assert list(await find_users_by_email(session, "nobody@example.org")) == []


async def test_lazy_loading_raises_a_clear_error(committed_engine: AsyncEngine) -> None:
    sessions = make_session_maker(committed_engine)
    async with sessions() as db:
        user = await create_user(db, "Amina", "amina@example.org")
    async with sessions() as db:
        fetched = await get_user(db, user.id)
        assert fetched is not None
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = fetched.posts


async def test_posts_are_usable_after_the_session_closes(committed_engine: AsyncEngine) -> None:
    sessions = make_session_maker(committed_engine)
    async with sessions() as db:
        user = await create_user(db, "Amina", "amina@example.org")
        for title in ("first", "second"):
            await create_post(db, user.id, title, "text")
        # The user is in this session's identity map with an empty posts list: still refreshed.
        loaded = await get_user_with_posts(db, user.id)
        assert loaded is not None
        assert [post.title for post in loaded.posts] == ["first", "second"]
    async with sessions() as db:
        fresh = await get_user_with_posts(db, user.id)
        assert await get_user_with_posts(db, 999_999) is None
    assert fresh is not None
    assert [post.title for post in fresh.posts] == ["first", "second"]
    assert UserWithPosts.model_validate(fresh).posts[1].title == "second"


@pytest.mark.parametrize("impossible_id", [0, 2**31])
async def test_ids_no_row_can_have_are_simply_not_found(
    session: AsyncSession, impossible_id: int
) -> None:
    assert await get_user(session, impossible_id) is None
    assert await get_user_with_posts(session, impossible_id) is None
