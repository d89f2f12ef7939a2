"""The shared look of the report figures: one colour per setting (:data:`PALETTE`), line
dashes (:data:`DASHES`), the per-setting :class:`LineStyle`, and user text made literal for
matplotlib (``$`` starts mathtext) and Plotly (labels read HTML tags).

Colours and dashes follow config values, the same on every page (:func:`value_styles`): a
loop kind always has its colour of :data:`LOOP_COLOURS`, a λ (``generator.bias``) its dash of
:data:`BIAS_DASHES`; any other value starts from a stable hash of its text and only moves on
(to the next free colour) where two values of one page would share one.
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


#: Matplotlib markers with their Plotly names: told apart the experiments of a comparison.
MARKERS: tuple[tuple[str, str], ...] = (
    ("circle", "o"),
    ("square", "s"),
    ("triangle-up", "^"),
    ("diamond", "D"),
    ("triangle-down", "v"),
    ("star", "*"),
)

#: The fixed colour of each built-in loop kind (indices into :data:`PALETTE`).
LOOP_COLOURS: dict[str, int] = {
    "fully_synthetic": 3,  # red: the collapsing loop
    "fresh": 2,  # green
    "augment": 0,
    "accumulate": 1,
    "accumulate_subsample": 4,
    "keep_original": 5,
    "mixed": 6,
}

#: The fixed dash of the λ values the lab's examples use (0.7 solid and 1.0 dashed: the order
#: ``tests/report/test_compare.py`` pins); other values hash.
BIAS_DASHES: dict[float, int] = {0.7: 0, 1.0: 1, 0.9: 2, 0.8: 3, 0.5: 4, 0.6: 5}


@dataclass(frozen=True)
class LineStyle:
    """How one setting's line and band are drawn.

    Attributes:
        colour: A ``#rrggbb`` colour.
        dash: Index into :data:`DASHES` (wrapping around); 0 is solid.
    """

    colour: str
    dash: int = 0
    marker: int = 0

    @property
    def plotly_marker(self) -> str:
        """The Plotly ``marker.symbol``."""
        return MARKERS[self.marker % len(MARKERS)][0]

    @property
    def matplotlib_marker(self) -> str:
        """The matplotlib ``marker``."""
        return MARKERS[self.marker % len(MARKERS)][1]

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


def _stable_hash(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def _fixed_slot(key: str, value: Any, kind: str) -> int | None:
    """The slot a known value always takes: loop kinds' colours, λ's dashes; else None."""
    if kind == "colour" and key == "loop.kind" and value in LOOP_COLOURS:
        return LOOP_COLOURS[value]
    if kind == "dash" and key == "generator.bias" and isinstance(value, (int, float)):
        return BIAS_DASHES.get(float(value))
    return None


def value_slots(key: str, values: Any, kind: str) -> dict[Any, int]:
    """A colour (``kind="colour"``) or dash (``"dash"``) index per distinct value of ``key``.

    Known values take their fixed slot; others a slot from a stable hash of ``key=value``,
    moving to the next free one where it is taken on this page (values handled in order given,
    fixed ones first), so two values of one page never share a slot while slots last.

    >>> value_slots("loop.kind", ["fresh", "fully_synthetic"], "colour")
    {'fresh': 2, 'fully_synthetic': 3}
    >>> value_slots("generator.bias", [1.0, 0.7], "dash")
    {1.0: 1, 0.7: 0}
    """
    size = len(PALETTE) if kind == "colour" else len(DASHES)
    slots: dict[Any, int] = {}
    distinct = list(dict.fromkeys(values))
    for value in distinct:
        fixed = _fixed_slot(key, value, kind)
        if fixed is not None:
            slots[value] = fixed
    for value in distinct:
        if value in slots:
            continue
        slot = _stable_hash(f"{key}={value!r}") % size
        taken = set(slots.values())
        for step in range(size):
            if (slot + step) % size not in taken:
                slot = (slot + step) % size
                break
        slots[value] = slot
    return slots


def value_styles(
    items: Any, colour_key: str | None, dash_key: str | None, marker_of: Any = None
) -> dict[str, LineStyle]:
    """A :class:`LineStyle` per label from config values, the same on every page.

    Args:
        items: (label, values) pairs, ``values`` a mapping of flattened config keys.
        colour_key: The key picking the colour (None: every line the first colour).
        dash_key: The key picking the dash (None: every line solid).
        marker_of: Optional mapping label -> marker index.
    """
    items = list(items)
    colours = value_slots(colour_key or "", [v.get(colour_key) for _, v in items], "colour")
    dashes = value_slots(dash_key or "", [v.get(dash_key) for _, v in items], "dash")
    return {
        label: LineStyle(
            PALETTE[colours[values.get(colour_key)]] if colour_key else PALETTE[0],
            dashes[values.get(dash_key)] if dash_key else 0,
            (marker_of or {}).get(label, 0),
        )
        for label, values in items
    }


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
