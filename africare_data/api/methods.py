"""Which methods a path answers: a complete ``Allow`` on 405, and ``OPTIONS`` answered.

Starlette answers a method a path does not support with 405 and the methods of the first route
that matched the path, so ``/examples/`` (GET and POST on two routes) claimed to allow POST only.
:func:`install_method_handlers` replaces that answer: ``OPTIONS`` gets 204 with the path's
methods, any other unsupported method 405 with the same complete list (RFC 9110, 15.5.6).
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.routing import Match

__all__ = ["allowed_methods", "install_method_handlers"]


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route of ``app`` answers on the request's path, and ``OPTIONS``.

    Each method is tried against the routes' own matching (``Match.FULL``), so routes nested in
    included routers count too.
    """
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in app.router.routes
        )
    ]
    return sorted([*allowed, "OPTIONS"])


async def _http_error(request: Request, error: HTTPException) -> Response:
    """FastAPI's answer to every HTTP error, with 405 and ``OPTIONS`` as described above."""
    if error.status_code != 405:
        return await http_exception_handler(request, error)
    app: FastAPI = request.app
    allow = {"Allow": ", ".join(allowed_methods(app, request))}
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=allow)
    return await http_exception_handler(
        request, HTTPException(405, detail=error.detail, headers=allow)
    )


def install_method_handlers(app: FastAPI) -> None:
    """Answer ``OPTIONS`` and unsupported methods of ``app`` with the complete ``Allow``."""
    app.exception_handler(HTTPException)(_http_error)
