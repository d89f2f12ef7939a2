"""Reports over run directories: PNG figures and one self-contained HTML page per experiment.

>>> from autophagy.report import build_report
>>> pages = build_report("runs/demo")  # doctest: +SKIP

matplotlib, Plotly, pandas and DuckDB load inside the functions that use them.
"""

from .collect import collect, summarise
from .html import build_report

__all__ = ["build_report", "collect", "summarise"]
