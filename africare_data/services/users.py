"""Users and their posts: the original document's one-to-many example, loaded explicitly.

``User.posts`` and ``Post.author`` are ``lazy="raise"``: async code cannot lazy-load, so loading is
always explicit (``selectinload``) and a forgotten load fails with an error naming the relationship.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from africare_data.models import Post, User
from africare_data.schemas.user import PostCreate, UserCreate
from africare_data.services._transaction import reading, reload_if_expired, validated, writing
from africare_data.services._validation import TEXT, checked, lookup_id

__all__ = ["create_post", "create_user", "find_users_by_email", "get_user", "get_user_with_posts"]


async def create_user(db: AsyncSession, name: str, email: str) -> User:
    """Insert a user; a taken e-mail address raises :class:`DuplicateEmailError`.

    With the toolkit's sessions (``expire_on_commit=False``) the returned user's ``posts`` is an
    empty, loaded list; load it with :func:`get_user_with_posts` otherwise.
    """
    stripped = email.strip() if isinstance(email, str) else email
    data = validated(UserCreate, name=name, email=stripped)
    user = User(name=data.name, email=data.email, posts=[])
    async with writing(db, email=data.email):
        db.add(user)
        await db.flush()
    await reload_if_expired(db, user)
    return user


async def get_user(db: AsyncSession, user_id: int) -> User | None:
    """The user with ``user_id`` (posts not loaded), or ``None``."""
    found_id = lookup_id("user_id", user_id)
    if found_id is None:
        return None
    async with reading(db):
        return await db.get(User, found_id)


async def create_post(db: AsyncSession, author_id: int, title: str, content: str) -> Post:
    """Insert a post by user ``author_id``; an unknown author raises :class:`NotFoundError`."""
    data = validated(PostCreate, author_id=author_id, title=title, content=content)
    post = Post(author_id=data.author_id, title=data.title, content=data.content)
    async with writing(db, author_id=data.author_id):
        db.add(post)
        await db.flush()
    await reload_if_expired(db, post)
    return post


async def find_users_by_email(db: AsyncSession, email: str) -> Sequence[User]:
    """Users whose e-mail address equals ``email``, ignoring case and surrounding spaces."""
    wanted = checked(TEXT, "email", email).strip().lower()
    async with reading(db):
        result = await db.execute(
            select(User).where(func.lower(User.email) == wanted).order_by(User.id)
        )
        return result.scalars().all()


async def get_user_with_posts(db: AsyncSession, user_id: int) -> User | None:
    """The user with ``user_id`` and their posts (ordered by id), or ``None``.

    The posts are loaded with ``selectinload`` (and refreshed if the user was already in the
    session), so they stay usable after the session is closed.
    """
    found_id = lookup_id("user_id", user_id)
    if found_id is None:
        return None
    async with reading(db):
        result = await db.execute(
            select(User)
            .where(User.id == found_id)
            .options(selectinload(User.posts))
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()
