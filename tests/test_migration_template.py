"""A revision written by ``make migrate`` passes ``make lint`` exactly as generated.

The project is copied to a scratch folder, a model of the copy is changed, and the ``alembic``
command line (what ``make migrate`` runs) autogenerates a revision against a scratch database. The
new file must pass ``ruff check`` and ``ruff format --check`` with the project's settings, which
the template ``alembic/script.py.mako`` and the post-write hooks in ``alembic.ini`` see to. The
revision must then apply and leave no drift (``alembic check``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from africare_data.database import scratch_database
from africare_data.migrations import PROJECT_ROOT

# The model change: a plain column, and one whose type needs an import of its own in the revision.
_ANCHOR = (
    "    cancellation_reason: Mapped[str | None] = "
    "mapped_column(String(CANCELLATION_REASON_LENGTH))\n"
)
_NEW_COLUMNS = (
    "    notes: Mapped[str | None] = mapped_column(String(2000))\n"
    "    details: Mapped[dict[str, object] | None] = mapped_column(JSONB)\n"
)
_NEW_IMPORT = "from sqlalchemy.dialects.postgresql import JSONB\n"


@pytest.fixture
def project_copy(tmp_path: Path) -> Iterator[Path]:
    """The package, migrations and configuration, copied; ``Booking`` has two new columns."""
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("africare_data", "alembic"):
        shutil.copytree(PROJECT_ROOT / folder, copy / folder, ignore=ignore)
    for name in ("alembic.ini", "pyproject.toml"):
        shutil.copy2(PROJECT_ROOT / name, copy / name)
    model = copy / "africare_data" / "models" / "booking.py"
    source = model.read_text()
    assert _ANCHOR in source, "the model change no longer applies; update _ANCHOR"
    source = source.replace(_ANCHOR, _ANCHOR + _NEW_COLUMNS)
    model.write_text(
        source.replace("from sqlalchemy.orm import", _NEW_IMPORT + "from sqlalchemy.orm import")
    )
    yield copy


def _run(copy: Path, url: URL, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <args>`` in the copy, on the database ``url``; fail with its output."""
    env = {**os.environ, "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)}
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=copy, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result


async def test_generated_revision_passes_lint_and_applies(
    project_copy: Path, server_url: URL
) -> None:
    async with scratch_database("revision", url=server_url) as url:
        _run(project_copy, url, "alembic", "upgrade", "head")
        _run(project_copy, url, "alembic", "revision", "--autogenerate", "-m", "booking notes")

        (revision,) = (project_copy / "alembic" / "versions").glob("*_booking_notes.py")
        text = revision.read_text()
        assert 'op.add_column("bookings", sa.Column("notes", sa.String(length=2000)' in text
        assert "from sqlalchemy.dialects import postgresql" in text
        _run(project_copy, url, "ruff", "check", "--no-cache", str(revision))
        _run(project_copy, url, "ruff", "format", "--check", "--no-cache", str(revision))

        _run(project_copy, url, "alembic", "upgrade", "head")
        checked = _run(project_copy, url, "alembic", "check")
        assert "No new upgrade operations detected" in checked.stdout + checked.stderr
