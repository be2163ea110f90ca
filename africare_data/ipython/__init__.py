"""IPython integration: ``%sql`` / ``%%sql`` magics and short toolkit errors.

``%load_ext africare_data`` calls :func:`register`, as does ``notebook.setup()`` inside IPython
(then with the notebook's own engine, so ``%sql`` reads the notebook's database). Nothing else in
the package imports this one: it sits at the very end of the data flow, next to ``notebook``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data.ipython import short_errors
from africare_data.ipython.sql_magics import SqlMagics
from africare_data.ipython.sql_runner import SqlRunner

__all__ = ["SqlMagics", "SqlRunner", "register"]


def register(shell: Any, engine: AsyncEngine | None = None) -> SqlMagics:
    """Give ``shell`` the SQL magics and the short display of toolkit errors.

    ``engine`` chooses the database ``%sql`` runs on; without it the magics keep the database
    they run on already (the toolkit's engine the first time). Registering again is harmless.
    """
    short_errors.install(shell)
    magics = shell.magics_manager.registry.get(SqlMagics.__name__)
    if not isinstance(magics, SqlMagics):
        magics = SqlMagics(shell, SqlRunner(engine))
        shell.register_magics(magics)
    elif engine is not None:
        magics.runner.use(engine)
    return magics
