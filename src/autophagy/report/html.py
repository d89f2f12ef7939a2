"""One self-contained HTML page (plus PNG figures) per experiment.

Layout written by :func:`build_report`::

    <out>/<experiment>/index.html          opens offline: Plotly JS inlined once, PNGs as data URIs
    <out>/<experiment>/figures/metric-NN-<metric>.png
    <out>/<experiment>/figures/samples-NN.png       scatter plots, or image grids of image data
    <out>/<experiment>/figures/classes-NN.png       class histograms (class_frequency_k)
    <out>/<experiment>/figures/perplexity-NN.png    per-sample perplexity histograms (text)

Text runs (``data.kind`` in :data:`TEXT_KINDS`) get no scatter snapshot: their samples are
token ids, shown instead as decoded example texts of the real data and of the first, middle
and last generation.

Every user-provided string (experiment names, config values, error text, generated text) is
HTML-escaped.

This module assembles the page: it reads the runs, writes the figures and hands them to
:func:`~autophagy.report.markup.render_page`. The parts live in :mod:`~autophagy.report.markup`
(HTML), :mod:`~autophagy.report.metric_charts`, :mod:`~autophagy.report.samples`,
:mod:`~autophagy.report.images`, :mod:`~autophagy.report.texts` and
:mod:`~autophagy.report.sweeps`; the names this module held before it was split (e.g.
:func:`safe_name`, :func:`decode_row`, :data:`N_TEXTS`) are still importable from here. The
functions below look up :func:`text_source`, ``image_grid_png`` and
``perplexity_histogram_png`` in this module's namespace, so replacing them here (as the tests
do) changes what :func:`build_report` calls.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.exceptions import InvalidParameterError
from autophagy.report.collect import (
    BOOKKEEPING,
    REMOVED_PREFIX,
    Experiment,
    RunRecord,
    Setting,
    collect,
    metric_order,
    summarise,
)
from autophagy.report.images import (
    _CLASS_FREQUENCY,
    class_frequencies,
    class_histogram_png,
    image_grid_png,
)
from autophagy.report.markup import (
    _CSS,
    _charts_section,
    _degenerate_section,
    _e,
    _table,
    overview_section,
    render_page,
    safe_name,
)
from autophagy.report.metric_charts import metric_plotly, metric_png
from autophagy.report.metric_info import clip_bands, key_metrics
from autophagy.report.overview import has_values, overview_png
from autophagy.report.samples import (
    _run_caption,
    _run_title,
    _snapshot_samples,
    project_2d,
    snapshot_png,
)
from autophagy.report.story import story_section, story_table
from autophagy.report.style import value_styles
from autophagy.report.sweeps import _sweep_figures
from autophagy.report.texts import (
    N_TEXTS,
    PERPLEXITY_ARTIFACT,
    TEXT_CHARS,
    TEXT_KINDS,
    TextExamples,
    _sample_perplexities,
    clip_text,
    decode_row,
    ids_text,
    is_text_run,
    perplexity_histogram_png,
)
from autophagy.report.web import lineage_figures
from autophagy.store.rundir import atomic_write

# The public names, and the private parts autophagy.report.compare builds its page from.
__all__ = [
    "N_TEXTS",
    "PERPLEXITY_ARTIFACT",
    "TEXT_CHARS",
    "TEXT_KINDS",
    "_CLASS_FREQUENCY",
    "_CSS",
    "TextExamples",
    "Theory",
    "_charts_section",
    "_degenerate_section",
    "_e",
    "_table",
    "_unique",
    "build_report",
    "class_frequencies",
    "clip_text",
    "closed_form",
    "decode_row",
    "ids_text",
    "is_text_run",
    "render_page",
    "safe_name",
    "text_source",
    "theory_curves",
    "write_page",
]


#: ``theory(config, metric, generations) -> predicted values of shape (T,) or None``; ``config``
#: is the nested resolved config of the setting's first run, ``generations`` an int array (T,).
Theory = Callable[[dict[str, Any], str, np.ndarray], np.ndarray | None]


def closed_form(config: dict[str, Any], metric: str, generations: np.ndarray) -> np.ndarray | None:
    """The default :data:`Theory`: :func:`autophagy.theory.predict` (exact Gaussian moments)."""
    from autophagy.theory import predict

    return predict(config, metric, generations)


def build_report(
    root: str | Path, out: str | Path | None = None, theory: Theory | None = closed_form
) -> list[Path]:
    """Write figures and one self-contained HTML page per experiment found under ``root``.

    Args:
        root: A run store, an experiment folder or a single run directory.
        out: The report folder (default ``<root>/report``); each experiment gets
            ``<out>/<name>/index.html`` and ``<out>/<name>/figures/*.png``, where ``<name>`` is
            the experiment name with characters other than letters, digits, ``.``, ``_``, ``-``
            replaced by ``_`` (and a ``-2``, ``-3``… suffix if two names collide).
        theory: Predicted curve per (config, metric, generations), drawn dashed beside the
            measured mean; it returns None where there is no prediction. The default draws the
            closed forms of :func:`autophagy.theory.predict`; None draws none.

    Returns:
        The paths of the HTML pages, one per experiment, sorted by experiment name.

    Raises:
        InvalidParameterError: If ``root`` does not exist or holds no run directory, or if
            ``theory`` returns an array of the wrong shape.
        CorruptRunError: If a file of a run directory cannot be read (the message names it).
    """
    root = Path(root)
    experiments = collect(root)
    out = Path(out) if out is not None else root / "report"
    pages: list[Path] = []
    used: set[str] = set()
    for experiment in experiments:
        folder = out / _unique(safe_name(experiment.name), used)
        pages.append(write_page(experiment, folder, theory))
    return pages


def _unique(name: str, used: set[str]) -> str:
    candidate, k = name, 1
    while candidate.lower() in used:  # case-insensitive file systems
        k += 1
        candidate = f"{name}-{k}"
    used.add(candidate.lower())
    return candidate


def write_page(experiment: Experiment, folder: Path, theory: Theory | None = None) -> Path:
    """Write ``folder/index.html`` and ``folder/figures/*.png`` for one experiment.

    Returns:
        The path of the HTML page.
    """
    figures = folder / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    summary = summarise(experiment.metrics)
    clipped = clip_bands(summary)  # bands within each metric's valid range
    labels = [s.label for s in experiment.settings]
    styles = setting_styles(experiment)
    written: set[Path] = set()

    charts = []
    all_curves = {}
    charted = [m for m in metric_order(summary["metric"]) if not _CLASS_FREQUENCY.fullmatch(m)]
    for i, metric in enumerate(charted):
        part = clipped[clipped["metric"] == metric]
        all_curves[metric] = curves = theory_curves(theory, experiment.settings, metric, part)
        png = figures / f"metric-{i + 1:02d}-{safe_name(metric)[:40]}.png"
        written.add(metric_png(part, metric, png, labels, curves, styles))
        charts.append((metric, png, metric_plotly(part, metric, labels, curves, styles)))
    configured = experiment.settings[0].runs[0].config.get("metrics") or []
    key = key_metrics(charted, [m for m in configured if isinstance(m, str)])
    if not any(all_curves.get(m) for m in key):  # lead with a metric the theory predicts too
        key += [m for m in charted if all_curves.get(m) and m not in key][:1]
    story = story_section(story_table(clipped, labels, key, all_curves), labels)
    shown = [m for m in charted if m not in BOOKKEEPING and not m.startswith(REMOVED_PREFIX) and has_values(clipped, m)]
    overview = overview_png(clipped, shown, figures / "overview.png", labels, styles)
    if overview is not None:  # small multiples: every metric at a glance, before the full charts
        written.add(overview)
        story += overview_section(overview)

    snapshots, texts = [], []
    sources: dict[str, tuple[Any, str | None]] = {}  # one text source per distinct data group
    for i, setting in enumerate(experiment.settings):
        found = _snapshot_samples(setting)
        if found is None:
            continue
        if is_text_run(found[0]):
            texts.append(_text_examples(setting.label, found, sources))
            continue
        title, png = _snapshot(setting.label, found, figures / f"samples-{i + 1:02d}.png")
        written.add(png)
        snapshots.append((setting.label, title, png))

    perplexities = []
    for i, setting in enumerate(experiment.settings):
        per_run = _sample_perplexities(setting)
        if per_run is None:
            continue
        run, per_generation = per_run
        png = figures / f"perplexity-{i + 1:02d}.png"
        written.add(perplexity_histogram_png(per_generation, _run_title(setting.label, run), png))
        perplexities.append((setting.label, png))

    histograms = []
    for i, setting in enumerate(experiment.settings):
        frequencies = class_frequencies(summary, setting.label)
        if not frequencies:
            continue
        png = figures / f"classes-{i + 1:02d}.png"
        written.add(class_histogram_png(frequencies, f"{setting.label}: class shares", png))
        histograms.append((setting.label, png))

    lineages = lineage_figures(experiment, figures, theory, safe_name)
    written.update(png for _, png in lineages)

    sweeps = []
    for title, png in _sweep_figures(experiment, summary, figures):
        written.add(png)
        sweeps.append((title, png))

    for stale in figures.glob("*.png"):  # figures of an earlier report of this experiment
        if stale not in written:
            stale.unlink()

    page = render_page(
        experiment,
        summary,
        charts,
        snapshots,
        sweeps,
        histograms,
        perplexities,
        texts,
        lineages,
        story,
    )
    path = folder / "index.html"

    def write(tmp: Path) -> None:
        tmp.write_text(page, encoding="utf-8")

    atomic_write(path, write)
    return path


def setting_styles(experiment: Experiment) -> dict[str, Any]:
    """Colour by ``loop.kind`` (else the first varying key), dash by ``generator.bias`` (else the
    next varying key): the same value gets the same look on every page
    (:func:`~autophagy.report.style.value_styles`)."""
    from autophagy.report.collect import _hashable

    varying = list(experiment.varying)
    others = [k for k in varying if k not in ("loop.kind", "generator.bias")]
    colour_key = "loop.kind" if "loop.kind" in varying or not others else others[0]
    rest = [k for k in varying if k != colour_key]
    dash_key = "generator.bias" if "generator.bias" in rest else (rest[0] if rest else None)
    items = []
    for setting in experiment.settings:
        flat = setting.runs[0].flat
        values = {k: _hashable(flat.get(k)) for k in (colour_key, dash_key) if k is not None}
        items.append((setting.label, values))
    return value_styles(items, colour_key, dash_key)


def theory_curves(
    theory: Theory | None, settings: Sequence[Setting], metric: str, summary: Any
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Predicted curves per setting label for one metric (settings without one are left out).

    Raises:
        InvalidParameterError: If ``theory`` returns an array whose shape is not (T,).
    """
    if theory is None:
        return {}
    curves = {}
    for setting in settings:
        gens = np.sort(
            summary.loc[summary["setting"] == setting.label, "generation"].to_numpy(dtype=np.int64)
        )
        if gens.size == 0:
            continue
        predicted = theory(setting.runs[0].config, metric, gens)
        if predicted is None:
            continue
        predicted = np.asarray(predicted, dtype=float)
        if predicted.shape != gens.shape:
            raise InvalidParameterError(
                f"The 'theory' parameter must return None or an array of shape {gens.shape} "
                f"(one value per generation). Got shape {predicted.shape} instead for {metric!r}."
            )
        curves[setting.label] = (gens.astype(float), predicted)
    return curves


def _snapshot(
    label: str,
    found: tuple[RunRecord, np.ndarray | None, list[int], list[np.ndarray]],
    path: Path,
) -> tuple[str, Path]:
    """Draw the samples of :func:`_snapshot_samples` to ``path``: image grids for an image run,
    else scatter plots. Returns the figure's title and ``path``."""
    run, real, picked, generated = found
    names = (["real"] if real is not None else []) + [f"generation {g}" for g in picked]
    title = _run_title(label, run)
    shape = _image_shape(run, generated[0].shape[1])
    if shape is not None:
        arrays = ([real] if real is not None else []) + generated
        return title, image_grid_png(list(zip(names, arrays, strict=True)), shape, title, path)
    projected, note = project_2d(real, generated)
    if note:
        title += f"\n{note}"
    return title, snapshot_png(list(zip(names, projected, strict=True)), title, path)


def _image_shape(run: RunRecord, width: int) -> tuple[int, int, int] | None:
    """(C, H, W) when ``run`` has image data (``data.kind: images``) and its sample rows of
    ``width`` values are C·H·W pixels plus a label; None otherwise."""
    data = run.config.get("data")
    if not isinstance(data, dict) or data.get("kind") != "images":
        return None
    shape = _data_image_shape(data, width - 1)
    return shape if shape is not None and math.prod(shape) + 1 == width else None


def _data_image_shape(data: dict[str, Any], pixels: int) -> tuple[int, int, int] | None:
    """The (C, H, W) of an image data config: from its source, else guessed from ``pixels``.

    Only the data group is built (the bundled digits are cached; a user file is read), not the
    whole config, whose generator may need torch or a device this machine lacks. When the file
    is gone, ``data.shape`` or a square grey or RGB image of ``pixels`` values is assumed.
    """
    from autophagy._validation import validate
    from autophagy.registry import get

    try:
        entry = get("data", "images")
        # Entry.config is `type | None` for every group; a data entry's is always its Model
        return tuple(entry.build(validate(entry.config, data, prefix="data")).image_shape)  # type: ignore[arg-type]
    except (OSError, ValueError):  # InvalidParameterError is a ValueError
        pass
    given = data.get("shape")
    if isinstance(given, list) and len(given) in (2, 3) and all(isinstance(v, int) for v in given):
        return tuple(given) if len(given) == 3 else (1, *given)  # type: ignore[return-value]
    for channels in (1, 3):
        side = math.isqrt(pixels // channels)
        if channels * side * side == pixels:
            return (channels, side, side)
    return None


def text_source(data: dict[str, Any]) -> Any:
    """The text source of a run's data group, built from that group only (not the whole config,
    whose generator may need torch or a device this machine lacks).

    Args:
        data: The resolved ``data`` group of a run's config (``kind`` in :data:`TEXT_KINDS`).

    Returns:
        The source; the report uses its ``decode(ids of shape (L,)) -> str`` and
        ``vocab_size``.

    Raises:
        Exception: Whatever building fails with (the module missing, a corpus file moved, an
            invalid config); :func:`write_page` then shows token ids.
    """
    from autophagy._validation import validate
    from autophagy.registry import get

    entry = get("data", data.get("kind"), key="data.kind")
    return entry.build(validate(entry.config, data, prefix="data"))  # type: ignore[arg-type]  # a data entry's Model


def _cached_source(
    run: RunRecord, sources: dict[str, tuple[Any, str | None]]
) -> tuple[Any, str | None]:
    """(source or None, why it could not be built or None), built once per distinct data group."""
    data = run.config.get("data", {})
    key = json.dumps(data, sort_keys=True, default=str)
    if key not in sources:
        try:
            sources[key] = (text_source(data), None)
        except Exception as exc:  # any failure only costs the decoding: show the ids
            sources[key] = (None, f"{type(exc).__name__}: {exc}".splitlines()[0])
    return sources[key]


def _text_examples(
    label: str,
    found: tuple[RunRecord, np.ndarray | None, list[int], list[np.ndarray]],
    sources: dict[str, tuple[Any, str | None]],
) -> TextExamples:
    """The first :data:`N_TEXTS` samples of real data and of each picked generation, decoded."""
    run, real, picked, generated = found
    source, why = _cached_source(run, sources)
    names = (["real"] if real is not None else []) + [f"generation {g}" for g in picked]
    arrays = ([real] if real is not None else []) + generated
    panels, undecoded = [], 0
    for name, rows in zip(names, arrays, strict=True):
        texts = []
        for row in rows[:N_TEXTS]:
            text = decode_row(row, source)
            undecoded += text is None
            texts.append(clip_text(ids_text(row) if text is None else text))
        panels.append((name, tuple(texts)))
    note = None
    if why is not None:
        note = f"the text source could not be rebuilt from the run's data group ({why})"
    elif undecoded:
        note = f"{undecoded} sample(s) could not be decoded with the run's text source"
    return TextExamples(label, _run_caption(run), note, tuple(panels))
