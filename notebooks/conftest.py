"""nbval settings for the curated notebooks: compare plain text, not HTML.

Stored outputs are the assertions. A DataFrame is compared by its ``text/plain`` form, whose layout
the notebooks fix with ``africare_data.notebook.configure_display``; its ``text/html`` form is
skipped because a pandas release may change the HTML without changing any value. nbval already
skips ``image/png`` (PNG bytes carry library versions), so plots are checked by running, and by
their ``text/plain`` line ("<Figure size ... with N Axes>").
"""

from __future__ import annotations

import pytest


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Add ``text/html`` to what nbval leaves out of the comparison of each notebook."""
    skip_compare = getattr(collector, "skip_compare", None)
    if collector.path.suffix == ".ipynb" and skip_compare is not None:
        collector.skip_compare = (*skip_compare, "text/html")  # type: ignore[attr-defined]
