"""``User`` and ``Post``: the original document's one-to-many relationship example.

Relationships are ``lazy="raise"``: in async code an implicit lazy load cannot run, and SQLAlchemy
would otherwise fail with a confusing ``MissingGreenlet``. Loading must be explicit
(``selectinload``), and forgetting it raises an error that names the relationship.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from africare_data.models.base import Base

__all__ = ["Post", "User"]


class User(Base):
    """A platform user who can author posts; e-mail addresses are unique."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    posts: Mapped[list[Post]] = relationship(
        back_populates="author", lazy="raise", order_by="Post.id"
    )

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, email={self.email!r})"


class Post(Base):
    """A post written by one user."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(String(5000))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    author: Mapped[User] = relationship(back_populates="posts", lazy="raise")

    def __repr__(self) -> str:
        return f"Post(id={self.id!r}, title={self.title!r})"
