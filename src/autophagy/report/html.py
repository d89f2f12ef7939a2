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
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import CorruptRunError, InvalidParameterError
from ..store.rundir import atomic_write
from .collect import Experiment, RunRecord, Setting, collect, format_value, metric_order, summarise
from .figures import (
    MAX_HISTOGRAMS,
    N_HISTOGRAMS,
    class_histogram_png,
    image_grid_png,
    metric_plotly,
    metric_png,
    perplexity_histogram_png,
    project_2d,
    shown_generations,
    snapshot_png,
)

#: ``theory(config, metric, generations) -> predicted values of shape (T,) or None``; ``config``
#: is the nested resolved config of the setting's first run, ``generations`` an int array (T,).
Theory = Callable[[dict[str, Any], str, np.ndarray], np.ndarray | None]

#: The class-frequency family (``class_frequency_k``; plain ``class_frequency`` is the NaN a failed
#: evaluation leaves): drawn as class histograms, not one chart per class.
_CLASS_FREQUENCY = re.compile(r"class_frequency(?:_\d+)?")

#: ``data.kind`` of the text sources (:mod:`autophagy.data.text`): sample rows are token ids.
TEXT_KINDS = frozenset({"grammar", "corpus"})

#: Example texts shown per snapshot, and the characters kept of each.
N_TEXTS = 5
TEXT_CHARS = 200

#: Per-sample perplexities under the generation-1 model, one file per generation (first repeat).
PERPLEXITY_ARTIFACT = "sample_perplexity"


def closed_form(config: dict[str, Any], metric: str, generations: np.ndarray) -> np.ndarray | None:
    """The default :data:`Theory`: :func:`autophagy.theory.predict` (exact Gaussian moments)."""
    from ..theory import predict

    return predict(config, metric, generations)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


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


def safe_name(name: str) -> str:
    """A file-system-safe folder name for an experiment.

    >>> safe_name("demo-gaussian-8d")
    'demo-gaussian-8d'
    >>> safe_name("<script>alert(1)</script>")
    '_script_alert_1_script_'
    """
    slug = _SAFE_NAME.sub("_", name).strip()
    return "experiment" if slug in ("", ".", "..") else slug[:80]


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
    labels = [s.label for s in experiment.settings]
    written: set[Path] = set()

    charts = []
    charted = [m for m in metric_order(summary["metric"]) if not _CLASS_FREQUENCY.fullmatch(m)]
    for i, metric in enumerate(charted):
        part = summary[summary["metric"] == metric]
        curves = theory_curves(theory, experiment.settings, metric, part)
        png = figures / f"metric-{i + 1:02d}-{safe_name(metric)[:40]}.png"
        written.add(metric_png(part, metric, png, labels, curves))
        charts.append((metric, png, metric_plotly(part, metric, labels, curves)))

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

    sweeps = []
    for i, (title, png) in enumerate(_sweep_figures(experiment, summary, figures)):
        written.add(png)
        sweeps.append((title, png))

    for stale in figures.glob("*.png"):  # figures of an earlier report of this experiment
        if stale not in written:
            stale.unlink()

    page = render_page(
        experiment, summary, charts, snapshots, sweeps, histograms, perplexities, texts
    )
    path = folder / "index.html"

    def write(tmp: Path) -> None:
        tmp.write_text(page, encoding="utf-8")

    atomic_write(path, write)
    return path


def _sweep_figures(experiment: Experiment, summary: Any, figures: Path) -> list[tuple[str, Path]]:
    """Figures across a swept numeric key (>= 3 values): the metric against the key (log-log,
    first/middle/last generation) and, for lower-is-better metrics, the best key per generation.
    Settings that differ in other keys are drawn as separate groups."""
    import pandas as pd

    from .figures import LOWER_IS_BETTER, best_key_png, sweep_png

    out: list[tuple[str, Path]] = []
    if summary.empty:
        return out
    shown = _first_middle_last(summary["generation"])
    metrics = [m for m in metric_order(summary["metric"]) if m in LOWER_IS_BETTER]
    for k_index, key in enumerate(experiment.varying):
        values = [s.values.get(key) for s in experiment.settings]
        if len({v for v in values if v is not None}) < 3 or not all(_is_number(v) for v in values):
            continue
        others = [k for k in experiment.varying if k != key]
        groups = {s.label: ", ".join(f"{k}={format_value(s.values[k])}" for k in others) for s in experiment.settings}
        xs = {s.label: float(s.values[key]) for s in experiment.settings}
        for m_index, metric in enumerate(metrics):
            part = summary[summary["metric"] == metric]
            points = pd.DataFrame(
                {
                    "group": part["setting"].map(groups),
                    "x": part["setting"].map(xs),
                    "generation": part["generation"],
                    "mean": part["mean"],
                    "lo": part["lo"],
                    "hi": part["hi"],
                }
            )
            stem = f"sweep-{k_index + 1:02d}-{m_index + 1:02d}-{safe_name(metric)[:30]}"
            png = sweep_png(points, metric, key, figures / f"{stem}.png", generations=shown)
            out.append((f"{metric} against {key}", png))
            png = best_key_png(points, metric, key, figures / f"{stem}-best.png")
            out.append((f"{key} minimising {metric}, per generation", png))
    return out


def _first_middle_last(generations: Any) -> list[int]:
    """The first, middle and last of some generations, sorted, without repeats."""
    gens = sorted(int(g) for g in set(generations))
    return sorted({gens[0], gens[(len(gens) - 1) // 2], gens[-1]})  # the runner snapshots (G + 1) // 2


def class_frequencies(
    summary: Any, setting: str
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(mean, lo, hi) over repeats of ``class_frequency_k``, k = 0..K-1, at the first, middle and
    last generation of ``setting`` that recorded the family; ``{}`` when it recorded none.

    Each array has shape (K,); a class missing at a generation is NaN.
    """
    part = summary[summary["setting"] == setting]
    found = part["metric"].str.fullmatch(r"class_frequency_\d+")
    if not found.any():
        return {}
    classes = part.loc[found, "metric"].str.slice(len("class_frequency_")).astype(int)
    part = part[found].assign(k=classes)
    n_classes = int(part["k"].max()) + 1
    out = {}
    for generation in _first_middle_last(part["generation"]):
        rows = part[part["generation"] == generation].set_index("k").reindex(range(n_classes))
        out[generation] = tuple(rows[c].to_numpy(dtype=float) for c in ("mean", "lo", "hi"))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


def _load(path: Path) -> np.ndarray:
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise CorruptRunError(f"cannot read {path}: {exc}".splitlines()[0]) from None
    return x.reshape(x.shape[0] if x.ndim else 1, -1) if x.ndim != 2 else x


def _run_title(label: str, run: RunRecord) -> str:
    return f"{label}: {_run_caption(run)}"


def _run_caption(run: RunRecord) -> str:
    seed = run.flat.get("seed")
    return f"run {run.run_id}" + ("" if seed is None else f", seed {seed}")


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


def _snapshot_samples(
    setting: Setting,
) -> tuple[RunRecord, np.ndarray | None, list[int], list[np.ndarray]] | None:
    """Real, first, middle and last generation samples of the first run that saved some.

    Returns:
        (run, real sample or None, generations picked, their samples), or None.
    """
    for run in setting.runs:
        folder = run.path / "samples"
        gens = sorted(int(p.stem[4:]) for p in folder.glob("gen-*.npy") if p.stem[4:].isdigit())
        if not gens:
            continue
        middle = min(gens, key=lambda g: (abs(g - (gens[0] + gens[-1]) / 2), g))
        picked = sorted({gens[0], middle, gens[-1]})
        real_path = folder / "real.npy"
        real = _load(real_path) if real_path.exists() else None
        generated = [_load(folder / f"gen-{g:04d}.npy") for g in picked]
        if any(x.shape[1] != generated[0].shape[1] for x in generated) or (
            real is not None and real.shape[1] != generated[0].shape[1]
        ):
            raise CorruptRunError(f"cannot read {folder}: samples of different dimensions")
        return run, real, picked, generated
    return None


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
    from .._validation import validate
    from ..registry import get

    try:
        entry = get("data", "images")
        return tuple(entry.build(validate(entry.config, data, prefix="data")).image_shape)
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


def is_text_run(run: RunRecord) -> bool:
    """Whether ``run`` has text data (``data.kind`` in :data:`TEXT_KINDS`): its sample rows are
    token ids."""
    data = run.config.get("data")
    return isinstance(data, dict) and data.get("kind") in TEXT_KINDS


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
    from .._validation import validate
    from ..data import text  # noqa: F401  (registers the text kinds)
    from ..registry import get

    entry = get("data", data.get("kind"), key="data.kind")
    return entry.build(validate(entry.config, data, prefix="data"))


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


def decode_row(row: np.ndarray, source: Any) -> str | None:
    """One sample of token ids (L,) as text, or None when ``source`` is None or cannot decode it
    (non-integer ids, ids outside its vocabulary, a failing ``decode``)."""
    if source is None or not np.all(np.isfinite(row)):
        return None
    ids = np.rint(row).astype(np.int64)
    vocab = getattr(source, "vocab_size", None)
    if not np.array_equal(ids, row) or ids.min(initial=0) < 0 or (
        isinstance(vocab, int) and ids.max(initial=0) >= vocab
    ):
        return None
    try:
        return str(source.decode(ids))
    except Exception:  # a source at odds with the saved ids: show them instead
        return None


def ids_text(row: np.ndarray) -> str:
    """Token ids joined by spaces (the fallback when a sample cannot be decoded).

    >>> ids_text(np.array([3.0, 0.0, 12.0, np.nan]))
    '3 0 12 nan'
    """
    return " ".join(str(int(v)) if np.isfinite(v) and v == int(v) else f"{v:g}" for v in row)


def clip_text(text: str, limit: int = TEXT_CHARS) -> str:
    """``text`` on one line (line breaks as ``⏎``), cut at ``limit`` characters with ``…``.

    >>> clip_text("one\\ntwo", 80)
    'one⏎two'
    >>> clip_text("abcdef", 3)
    'abc…'
    """
    text = text.replace("\r\n", "\n").replace("\n", "⏎")
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class TextExamples:
    """Example texts of one setting, not escaped yet.

    Attributes:
        label: The setting's label.
        title: The run (and seed) the texts come from: ``"run <id>, seed <seed>"``.
        note: Why token ids are shown instead of text, or None when every sample decoded.
        panels: (panel name, clipped texts) pairs: real, then the picked generations.
    """

    label: str
    title: str
    note: str | None
    panels: tuple[tuple[str, tuple[str, ...]], ...]


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


def _sample_perplexities(setting: Setting) -> tuple[RunRecord, dict[int, np.ndarray]] | None:
    """Per-sample perplexities (n,) of the generations :func:`shown_generations` picks, from the
    first run of ``setting`` that saved some; None when none did."""
    for run in setting.runs:
        folder = run.path / "samples" / PERPLEXITY_ARTIFACT
        gens = [int(p.stem[4:]) for p in folder.glob("gen-*.npy") if p.stem[4:].isdigit()]
        if gens:
            picked = shown_generations(gens)
            return run, {g: _load(folder / f"gen-{g:04d}.npy").reshape(-1) for g in picked}
    return None


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _e(value: Any) -> str:
    """Escape any value for HTML text or attribute content."""
    return html.escape(value if isinstance(value, str) else format_value(value), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """An HTML table; ``header`` is escaped here, ``rows`` must hold already-escaped HTML."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    attr = f' class="{css}"' if css else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _degenerate_section(summary: Any) -> str:
    bad = summary[summary["n_nan"] > 0]
    if not len(bad):
        return ""
    rows = []
    for (setting, metric), part in bad.groupby(["setting", "metric"], sort=False):
        gens = ", ".join(
            f"{g} ({k}/{k + n} repeats NaN)"
            for g, k, n in zip(part["generation"], part["n_nan"], part["n"], strict=True)
        )
        rows.append([_e(setting), _e(metric), _e(gens)])
    return (
        '<section class="degenerate"><h2>&#9888; Degenerate generations</h2>'
        "<p>Some repeats gave NaN (a degenerate fit or metric) at these generations; means and "
        "bands leave those repeats out, and the charts mark the generations with an x.</p>"
        + _table(["setting", "metric", "degenerate generations"], rows)
        + "</section>"
    )


def _runs_section(experiment: Experiment) -> str:
    label_of = {r.path: s.label for s in experiment.settings for r in s.runs}
    seeds = experiment.metrics.groupby("path")["seed"].unique() if len(experiment.metrics) else {}
    runs: list[RunRecord] = [r for s in experiment.settings for r in s.runs]
    counts: dict[str, int] = {}
    rows = []
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
        run_seeds = sorted(int(s) for s in seeds[str(run.path)]) if str(run.path) in seeds else []
        done = "?" if run.generations_done is None else str(run.generations_done)
        total = "?" if run.generations is None else str(run.generations)
        error = f"<pre>{_e(run.error)}</pre>" if run.error else ""
        css = _SAFE_NAME.sub("_", run.status)
        rows.append(
            [
                _e(run.run_id),
                _e(label_of[run.path]),
                f'<span class="status {_e(css)}">{_e(run.status)}</span>',
                f"{_e(done)}/{_e(total)}",
                _e(", ".join(map(str, run_seeds)) or "none yet"),
                error,
            ]
        )
    tally = ", ".join(f"{n} {_e(status)}" for status, n in sorted(counts.items()))
    return (
        f"<section><h2>Runs</h2><p>{len(runs)} run(s): {tally}.</p>"
        + _table(["run", "setting", "status", "generations", "seeds", "error"], rows, "runs")
        + "</section>"
    )


def _config_section(experiment: Experiment) -> str:
    common = _table(
        ["key", "value"],
        [[_e(k), _e(v)] for k, v in sorted(experiment.common.items())],
    )
    repeats = (
        experiment.metrics.groupby("setting")[["path", "seed"]].apply(
            lambda part: len(part.drop_duplicates())
        )
        if len(experiment.metrics)
        else {}
    )
    rows = [
        [_e(s.label)]
        + [_e(s.values[k]) for k in experiment.varying]
        + [_e(str(len(s.runs))), _e(str(repeats[s.label]) if s.label in repeats else "0")]
        for s in experiment.settings
    ]
    varying = _table(["setting", *experiment.varying, "runs", "repeats (seeds)"], rows)
    return (
        "<section><h2>Config</h2><h3>Settings</h3>"
        + ("<p>Only the seed varies between runs.</p>" if not experiment.varying else "")
        + varying
        + "<h3>Common to every run</h3>"
        + common
        + "</section>"
    )


def _charts_section(
    charts: Sequence[tuple[str, Path, Any]],
    intro: str = "Mean over repeats with a 95 % Student-t band.",
) -> str:
    """One interactive chart per (metric, PNG, Plotly figure), each linking its PNG; ``intro``
    is trusted HTML. plotly.js is inlined with the first chart only."""
    if not charts:
        return "<section><h2>Metrics</h2><p>No metrics recorded yet.</p></section>"
    parts = [f"<section><h2>Metrics</h2><p>{intro}</p>"]
    for i, (metric, png, fig) in enumerate(charts):
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=i == 0,  # the whole plotly.js, inlined once per page: never 'cdn'
            config={"displaylogo": False, "responsive": True},
        )
        parts.append(
            f'<div class="chart"><h3>{_e(metric)}</h3>{div}'
            f'<p class="png"><a href="figures/{_e(png.name)}">PNG</a></p></div>'
        )
    parts.append("</section>")
    return "".join(parts)


def _figures_section(heading: str, intro: str, figures: Sequence[tuple[str, str, Path]]) -> str:
    """A page section: ``heading``, an ``intro`` paragraph (trusted HTML), then one captioned
    figure per (alt text, caption, PNG) — user strings escaped; empty without figures."""
    if not figures:
        return ""
    parts = [f"<section><h2>{heading}</h2><p>{intro}</p>"]
    for alt, caption, png in figures:
        parts.append(f'<figure><img src="{_data_uri(png)}" alt="{_e(alt)}"><figcaption>{_e(caption)}</figcaption></figure>')
    parts.append("</section>")
    return "".join(parts)


def _snapshots_section(snapshots: Sequence[tuple[str, str, Path]]) -> str:
    intro = (
        "First repeat of each setting: real data, then the first, middle and last generation "
        "(points on equal axes; images one row per class when labelled)."
    )
    return _figures_section("Samples", intro, [(title, label, png) for label, title, png in snapshots])


def _classes_section(histograms: Sequence[tuple[str, Path]]) -> str:
    intro = (
        "Share of generated images the feature classifier assigns to each class (metrics "
        "<code>class_frequency_k</code>), mean over repeats with a 95 % band, at the first, middle "
        "and last generation; the dashed line is the uniform share 1/K. Bars piling up on a few "
        "classes mean class collapse."
    )
    return _figures_section("Class frequencies", intro, [(f"{label}: class shares", label, png) for label, png in histograms])


def _perplexity_section(perplexities: Sequence[tuple[str, Path]]) -> str:
    intro = (
        "First repeat of each setting: the perplexity of every generated sample under the "
        "generation-1 model (<code>samples/sample_perplexity/</code>), one histogram per "
        "generation, light (early) to dark (late), on shared bins of equal width in "
        "log-perplexity; triangles on the top edge mark each generation's median. Up to "
        f"{MAX_HISTOGRAMS} generations are drawn, else {N_HISTOGRAMS} evenly spaced ones. In a "
        "collapsing loop the samples pile up at low perplexity (text the first model already "
        "found likely) while a tail of improbable samples appears (Shumailov et al., 2024)."
    )
    figures = [(f"{label}: per-sample perplexity", label, png) for label, png in perplexities]
    return _figures_section("Perplexity of generated text under generation 1", intro, figures)


def _texts_section(texts: Sequence[TextExamples]) -> str:
    if not texts:
        return ""
    parts = [
        f"<section><h2>Generated text</h2><p>First repeat of each setting: the first {N_TEXTS} "
        "samples of the real data and of the first, middle and last generation, decoded with the "
        f"run's text source (each cut at {TEXT_CHARS} characters; &#9166; marks a line break).</p>"
    ]
    for examples in texts:
        parts.append(f'<div class="texts"><h3>{_e(examples.label)}</h3>')
        parts.append(f'<p class="meta">{_e(examples.title)}</p>')
        if examples.note is not None:
            note = f"Token ids shown where text is not: {examples.note}."
            parts.append(f'<p class="note">{_e(note)}</p>')
        for name, lines in examples.panels:
            items = "".join(f"<li>{_e(line)}</li>" for line in lines)
            parts.append(f'<h4>{_e(name)}</h4><ol class="text-samples">{items}</ol>')
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def _sweeps_section(sweeps: Sequence[tuple[str, Path]]) -> str:
    figures = [(title, title, png) for title, png in sweeps]
    return _figures_section("Across the swept values", "Mean over repeats with a 95 % band.", figures)


def render_page(
    experiment: Experiment,
    summary: Any,
    charts: Sequence[tuple[str, Path, Any]],
    snapshots: Sequence[tuple[str, str, Path]],
    sweeps: Sequence[tuple[str, Path]] = (),
    histograms: Sequence[tuple[str, Path]] = (),
    perplexities: Sequence[tuple[str, Path]] = (),
    texts: Sequence[TextExamples] = (),
) -> str:
    """The HTML text of one experiment's page (self-contained; user strings escaped)."""
    from .. import __version__

    when = datetime.now(UTC).isoformat(timespec="seconds")
    n_runs = sum(len(s.runs) for s in experiment.settings)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(experiment.name)} - autophagy report</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(experiment.name)}</h1>"
        f'<p class="meta">{n_runs} run(s), {len(experiment.settings)} setting(s); '
        f"autophagy {_e(__version__)}, written {_e(when)}.</p>"
        + _degenerate_section(summary)
        + _charts_section(charts)
        + _sweeps_section(sweeps)
        + _classes_section(histograms)
        + _perplexity_section(perplexities)
        + _snapshots_section(snapshots)
        + _texts_section(texts)
        + _config_section(experiment)
        + _runs_section(experiment)
        + "</body></html>\n"
    )


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
pre { margin: 0; white-space: pre-wrap; max-width: 40em; font-size: 0.85em; }
.status { font-weight: 600; } .status.complete { color: #2a7a2a; }
.status.failed { color: #b00020; } .status.running { color: #a06000; }
.degenerate { border: 2px solid #b00020; background: #fff4f4; padding: 0.5em 1em; }
.chart { margin-bottom: 1.5em; } .png { font-size: 0.8em; margin: 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
.texts h4 { margin: 0.8em 0 0.2em; font-size: 0.95em; }
.text-samples { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.82em; background: #f7f7f7; border: 1px solid #e4e4e4; margin: 0;
  padding: 0.4em 0.6em 0.4em 2.6em; white-space: pre-wrap; overflow-wrap: anywhere; }
.text-samples li { margin: 0.15em 0; } .note { color: #a06000; }
"""

