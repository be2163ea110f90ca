"""Schemas of users and their posts (the original document's one-to-many example)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from africare_data.schemas.types import Id, StorableText

__all__ = ["PostCreate", "PostResponse", "UserCreate", "UserResponse", "UserWithPosts"]

# Deliberately loose: one "@", something on each side, a dot in the domain, no spaces or ASCII
# control characters (NUL included, which PostgreSQL cannot store). Deliverability is the mail
# system's business; this only refuses obvious typos. Explicit ranges rather than \s, whose
# meaning differs between regex dialects (pydantic's, JSON Schema's), so the OpenAPI document
# means exactly what the API checks.
EMAIL_PATTERN = r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f]+$"


class UserCreate(BaseModel):
    """Input for creating a user; the e-mail address must not be taken yet."""

    name: StorableText = Field(..., min_length=1, max_length=100, description="Display name")
    email: str = Field(
        ..., max_length=255, pattern=EMAIL_PATTERN, description="Unique e-mail address"
    )


class UserResponse(BaseModel):
    """A user as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    created_at: datetime


class PostCreate(BaseModel):
    """Input for creating a post by an existing user."""

    title: StorableText = Field(..., min_length=1, max_length=200, description="Post title")
    content: StorableText = Field(..., min_length=1, max_length=5000, description="Post body")
    author_id: Id = Field(..., description="Id of the authoring user")


class PostResponse(BaseModel):
    """A post as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    content: str
    author_id: int


class UserWithPosts(UserResponse):
    """A user with their posts (load them with ``selectinload``; relationships never lazy-load)."""

    posts: list[PostResponse] = Field(default_factory=list)
