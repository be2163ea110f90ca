"""The toolkit's data layer as a FastAPI web service (``pip install 'africare-data[api]'``).

:func:`create_app` mounts the original document's routes on the same sessions and services the
notebooks use. Nothing else in the package imports this module, so ``import africare_data`` works
without FastAPI; ``africare-data serve`` imports it on demand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from africare_data import __version__
from africare_data.api import availability, bookings, examples, users
from africare_data.api.errors import install_exception_handlers
from africare_data.api.methods import install_method_handlers

__all__ = ["create_app"]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # Close the default engine's pooled connections when the server stops.
    from africare_data.database import engine

    await engine.dispose()


def create_app() -> FastAPI:
    """A new FastAPI application with every router and the error handlers installed.

    Sessions come from ``africare_data.database.get_session``; override that dependency
    (``app.dependency_overrides[get_session]``) to serve another database.
    """
    app = FastAPI(
        title="AfriCare data API",
        version=__version__,
        description="The booking platform's endpoints on the africare-data sessions and services.",
        lifespan=_lifespan,
    )
    app.include_router(examples.router)
    app.include_router(users.router)
    app.include_router(bookings.router)
    app.include_router(availability.router)
    install_exception_handlers(app)
    install_method_handlers(app)
    return app
