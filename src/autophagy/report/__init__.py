"""Reports over run directories: PNG figures and one self-contained HTML page per experiment,
or one page comparing every run grouped by chosen config keys.

>>> from autophagy.report import build_comparison, build_report
>>> pages = build_report("runs/demo")  # doctest: +SKIP
>>> page = build_comparison("runs/demo", by=["loop.kind", "generator.bias"])  # doctest: +SKIP

matplotlib, Plotly, pandas and DuckDB load inside the functions that use them.
"""

from autophagy.report.collect import collect, summarise
from autophagy.report.compare import build_comparison
from autophagy.report.html import build_report

__all__ = ["build_comparison", "build_report", "collect", "summarise"]
