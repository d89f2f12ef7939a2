"""The shared look of the report figures: one colour per setting (:data:`PALETTE`), line
dashes (:data:`DASHES`), the per-setting :class:`LineStyle`, and user text made literal for
matplotlib (``$`` starts mathtext) and Plotly (labels read HTML tags).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: One colour per setting (matplotlib's tab10), shared by the PNG and the Plotly charts.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

#: Line dashes, solid first, as (Plotly ``line.dash``, matplotlib ``linestyle``) pairs.
DASHES: tuple[tuple[str, Any], ...] = (
    ("solid", "-"),
    ("dash", (0, (5, 3))),
    ("dot", (0, (1, 2))),
    ("dashdot", (0, (5, 2, 1, 2))),
    ("longdash", (0, (10, 3))),
    ("longdashdot", (0, (10, 3, 1, 3))),
)


@dataclass(frozen=True)
class LineStyle:
    """How one setting's line and band are drawn.

    Attributes:
        colour: A ``#rrggbb`` colour.
        dash: Index into :data:`DASHES` (wrapping around); 0 is solid.
    """

    colour: str
    dash: int = 0

    @property
    def plotly_dash(self) -> str:
        """The Plotly ``line.dash`` name."""
        return DASHES[self.dash % len(DASHES)][0]

    @property
    def matplotlib_dash(self) -> Any:
        """The matplotlib ``linestyle``."""
        return DASHES[self.dash % len(DASHES)][1]


#: A line style per setting label (settings not in it fall back to :func:`colour`, solid).
Styles = Mapping[str, LineStyle]


def colour(index: int) -> str:
    """The colour of the ``index``-th setting."""
    return PALETTE[index % len(PALETTE)]


def _style(styles: Styles | None, setting: str, index: int) -> LineStyle:
    """The style of the ``index``-th setting: from ``styles``, else the ``index``-th colour."""
    if styles is not None and setting in styles:
        return styles[setting]
    return LineStyle(colour(index))


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _plain(text: str) -> str:
    """Text for matplotlib, shown literally (a ``$`` would otherwise start mathtext)."""
    return text.replace("$", r"\$")


def _wrapped(text: str, width_in: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width_in`` inches (existing line breaks kept)."""
    import textwrap

    chars = max(20, int(width_in * 144 / fontsize))  # ~0.5 em per character
    return "\n".join(textwrap.fill(line, chars) or line for line in text.split("\n"))


def _plotly_text(text: str) -> str:
    """Text for Plotly, shown literally (Plotly reads a subset of HTML tags in labels)."""
    return html.escape(text, quote=False)
