"""The HTML of a report page: escaping (:func:`_e`), file-system-safe names (:func:`safe_name`),
tables, one builder per page section, :func:`render_page` that strings the sections together,
and the page's CSS. :mod:`autophagy.report.compare` builds its page from the same parts.

Every user-provided string (experiment names, config values, error text, generated text) is
HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autophagy.report.collect import Experiment, RunRecord, format_value
from autophagy.report.metric_info import caption as metric_caption
from autophagy.report.texts import MAX_HISTOGRAMS, N_HISTOGRAMS, N_TEXTS, TEXT_CHARS, TextExamples
from autophagy.report.web import lineages_intro

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file-system-safe folder name for an experiment.

    >>> safe_name("demo-gaussian-8d")
    'demo-gaussian-8d'
    >>> safe_name("<script>alert(1)</script>")
    '_script_alert_1_script_'
    """
    slug = _SAFE_NAME.sub("_", name).strip()
    return "experiment" if slug in ("", ".", "..") else slug[:80]


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
        "<p>Some repeats gave NaN or &plusmn;inf (a degenerate fit or metric; both are counted as "
        "NaN below) at these generations; means and bands leave those repeats out, and the "
        "charts mark the generations with an x.</p>"
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
            f'<div class="chart"><h3>{_e(metric)}</h3>'
            f'<p class="caption">{_e(metric_caption(metric))}</p>{div}'
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


def overview_section(png: Path) -> str:
    """The small multiples of :func:`~autophagy.report.overview.overview_png` as a section."""
    intro = ("Every metric at a glance, one panel each (the mean per setting; colours and dashes as "
             "in the charts below): look for the settings whose lines leave the others.")
    return _figures_section("At a glance", intro, [("every metric, one panel each", "The mean of each metric per setting against generation.", png)])


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
    lineages: Sequence[tuple[str, Path]] = (),
    story: str = "",
) -> str:
    """The HTML text of one experiment's page (self-contained; user strings escaped);
    ``story`` is the summary section (trusted HTML) that opens the page."""
    from autophagy._version import __version__

    when = datetime.now(UTC).isoformat(timespec="seconds")
    n_runs = sum(len(s.runs) for s in experiment.settings)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(experiment.name)} - autophagy report</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(experiment.name)}</h1>"
        f'<p class="meta">{n_runs} run(s), {len(experiment.settings)} setting(s); '
        f"autophagy {_e(__version__)}, written {_e(when)}.</p>"
        + story
        + _degenerate_section(summary)
        + _charts_section(charts)
        + _figures_section("Lineages", lineages_intro(len(lineages)), [(title, title, png) for title, png in lineages])
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
.caption { color: #444; font-style: italic; margin: 0.2em 0; }
.story { border-left: 4px solid #1f77b4; background: #f6f9fc; padding: 0.5em 1em; }
.story ul.verdicts { padding-left: 1.2em; } .story td.num { text-align: right; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
.texts h4 { margin: 0.8em 0 0.2em; font-size: 0.95em; }
.text-samples { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.82em; background: #f7f7f7; border: 1px solid #e4e4e4; margin: 0;
  padding: 0.4em 0.6em 0.4em 2.6em; white-space: pre-wrap; overflow-wrap: anywhere; }
.text-samples li { margin: 0.15em 0; } .note { color: #a06000; }
"""
