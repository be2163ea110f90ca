"""Schemas of the ``Example`` entity: create, partial update and response."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from africare_data.schemas.types import StorableText

__all__ = ["ExampleBase", "ExampleCreate", "ExampleResponse", "ExampleUpdate"]

NAME_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 1000


class ExampleBase(BaseModel):
    """The fields a caller provides, with the column lengths of ``examples``."""

    name: StorableText = Field(
        ..., min_length=1, max_length=NAME_MAX_LENGTH, description="Name of the example"
    )
    description: StorableText | None = Field(
        None, max_length=DESCRIPTION_MAX_LENGTH, description="Optional description"
    )


class ExampleCreate(ExampleBase):
    """Input for creating an example."""


class ExampleUpdate(BaseModel):
    """A partial update: every field is optional and only the fields given change."""

    name: StorableText | None = Field(
        None, min_length=1, max_length=NAME_MAX_LENGTH, description="New name"
    )
    description: StorableText | None = Field(
        None, max_length=DESCRIPTION_MAX_LENGTH, description="New description"
    )


class ExampleResponse(ExampleBase):
    """An example as stored; ``ExampleResponse.model_validate(orm_example)`` works."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    updated_at: datetime | None = None
