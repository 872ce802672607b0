"""pytest settings for the notebook runs (nbval): compare text outputs only, never stderr or rich output.

nbval re-runs each notebook and, with --nbval-lax, compares only the cells marked
``# NBVAL_CHECK_OUTPUT`` (deterministic: shapes, counts, parameter counts, losses on fixed inputs).
"""


def pytest_collectstart(collector):
    if getattr(collector, "fspath", None) and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("text/html", "application/javascript", "stderr",
                                   "application/vnd.jupyter.widget-view+json", "image/png")
