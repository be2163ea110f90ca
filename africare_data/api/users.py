"""``/users`` and ``/posts``: the original document's one-to-many example over the user services."""

from __future__ import annotations

from fastapi import APIRouter

from africare_data.api.deps import SessionDep
from africare_data.api.errors import DUPLICATE_EMAIL, MALFORMED_BODY, NOT_FOUND
from africare_data.errors import NotFoundError
from africare_data.schemas import PostCreate, PostResponse, UserCreate, UserResponse, UserWithPosts
from africare_data.services import users

__all__ = ["router"]

router = APIRouter(tags=["users"])


@router.post("/users/", status_code=201, responses={**DUPLICATE_EMAIL, **MALFORMED_BODY})
async def create_user(data: UserCreate, db: SessionDep) -> UserResponse:
    """Create a user; the e-mail address must be free."""
    user = await users.create_user(db, data.name, data.email)
    return UserResponse.model_validate(user)


@router.get("/users/{user_id}", responses=NOT_FOUND)
async def get_user(user_id: int, db: SessionDep) -> UserWithPosts:
    """A user with their posts (ordered by id)."""
    user = await users.get_user_with_posts(db, user_id)
    if user is None:
        raise NotFoundError("User", user_id, message="User not found")
    return UserWithPosts.model_validate(user)


@router.post("/posts/", status_code=201, responses={**NOT_FOUND, **MALFORMED_BODY})
async def create_post(data: PostCreate, db: SessionDep) -> PostResponse:
    """Create a post by an existing user (404 if ``author_id`` names no user)."""
    post = await users.create_post(db, data.author_id, data.title, data.content)
    return PostResponse.model_validate(post)
