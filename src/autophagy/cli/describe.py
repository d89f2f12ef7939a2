"""Commands that describe: ``report``, ``list`` and the ``admissible`` calculator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from autophagy.cli._app import (
    FormatOption,
    _at_least_one,
    _check_format,
    _console,
    _print_frame,
    app,
)


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="A run store, an experiment or a run directory.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the report (default DIR/report; with --by DIR/report/compare-KEY+KEY)."),
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Compare every run under DIR grouped by this flattened config key, e.g. loop.kind, "
            "or 'name' (the experiment); repeatable: the first key sets the colour, the second the dash.",
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="With --by: chart only this metric (repeatable; default every metric)."),
    ] = None,
    pool: Annotated[
        bool, typer.Option("--pool", help="With --by: pool runs of different experiments and data kinds into one line per group (default: kept apart).")
    ] = False,
) -> None:
    """Write PNG figures and one self-contained HTML page per experiment, and print the pages.

    With --by: one page comparing every run under DIR (any experiment), grouped by those keys,
    runs of different experiments and data kinds kept apart unless --pool. Per metric: the mean
    over every seed of a group's runs against generation (over the generations all of them
    reached), with a 95 % band; fewer than 3 seeds are drawn one line each.
    It lists the config keys pooled inside a group, and each group's runs, seeds and statuses.
    The page works offline (plotly.js inlined once); the charts' PNGs go to OUT/figures/.
    """
    from autophagy.exceptions import InvalidParameterError
    from autophagy.report import build_comparison, build_report

    if by:
        typer.echo(str(build_comparison(directory, by, out, metric, pool=pool)))
        return
    if metric:
        raise InvalidParameterError(f"The '--metric' parameter needs --by KEY. Got {metric[0]!r} without --by instead.")
    if pool:
        raise InvalidParameterError("The '--pool' parameter needs --by KEY. Got --pool without --by instead.")
    for page in build_report(directory, out):
        typer.echo(str(page))


@app.command("list")
def list_(fmt: FormatOption = "table") -> None:
    """List the registered data sources, generators, loops, metrics and stages, with where each comes from."""
    from autophagy.registry import GROUPS, entries

    rows = [{"group": g, "name": e.name, "summary": e.summary, "origin": e.origin} for g in GROUPS for e in entries(g).values()]
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    _check_format(fmt, ("table", "json"))
    from rich.markup import escape
    from rich.table import Table

    table = Table("group", "name", "summary", "origin")
    for row in rows:  # summaries and values are text, not Rich markup ("[x, y]" must show)
        table.add_row(row["group"], row["name"], escape(row["summary"]), escape(row["origin"]))
    _console().print(table)


PHASE_BIASES = (1.0, 0.99, 0.97, 0.95, 0.9, 0.8, 0.7, 0.5)


@app.command()
def admissible(
    n_real: Annotated[int, typer.Option("--n-real", help="Real samples per generation n_r.")],
    bias: Annotated[float, typer.Option("--bias", help="Sampling bias λ in (0, 1] of the synthetic data.")],
    dim: Annotated[int, typer.Option("--dim", help="Dimension d.")],
    n_synthetic: Annotated[
        list[int] | None, typer.Option("--n-synthetic", help="n_s values to try (repeatable; default 0 and n_r·2^k, k=-5..5).")
    ] = None,
    estimator: Annotated[str, typer.Option("--estimator", help="unbiased or mle.")] = "unbiased",
    precision: Annotated[float, typer.Option("--precision", help="Relative standard error of n_e/n_r.")] = 0.01,
    max_repeats: Annotated[int, typer.Option("--max-repeats", help="Monte-Carlo budget per n_s.")] = 4096,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    plot: Annotated[bool, typer.Option("--plot", help="Also write the phase diagram n_e/n_r over n_s × λ.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="PNG of --plot (default phase-n<n_r>-d<d>.png).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes for --plot (default: cores).")] = None,
    fmt: FormatOption = "table",
) -> None:
    """How many synthetic samples per generation can join n_r real ones before they hurt (MAD §5)."""
    from autophagy.theory import admissible_synthetic, phase_diagram
    from autophagy.theory.admissible import default_grid

    _check_format(fmt, ("table", "json", "csv"))
    _at_least_one(workers, "--workers")
    result = admissible_synthetic(
        n_real, bias, dim, n_synthetic=n_synthetic, estimator=estimator, precision=precision,
        max_repeats=max_repeats, seed=seed,
    )
    _print_frame(_admissible_frame(result), fmt)
    if fmt == "table":
        floor = any(p.at_floor for p in result.curve)
        typer.echo(
            f"n_r = {n_real}, λ = {bias}, d = {dim}, {estimator} fits; ± is one standard error"
            + (f"; (floor): n_e below dim + 1 = {dim + 1}, the ratio is an upper bound" if floor else "")
        )
        if result.threshold_bracket is None:
            typer.echo("every n_s tried is admissible (n_e/n_r >= 1); with λ = 1 the ratio rises toward 2")
        elif result.threshold_bracket[0] == result.threshold_bracket[1]:
            typer.echo("no admissible n_s > 0 among those tried")
        else:
            lo, hi = result.threshold_bracket
            typer.echo(f"largest admissible n_s: {lo} (n_e/n_r crosses 1 between n_s = {lo} and {hi})")
    if plot:
        from autophagy.report.figures import phase_png

        grid = [v for v in (n_synthetic or default_grid(n_real)) if v > 0]
        biases = sorted({*PHASE_BIASES, float(bias)}, reverse=True)
        diagram = phase_diagram(
            n_real, dim, grid, biases, estimator=estimator, precision=precision, max_repeats=max_repeats,
            seed=seed, workers=workers,
        )
        path = phase_png(diagram, out or Path(f"phase-n{n_real}-d{dim}.png"), mark_bias=float(bias))
        typer.echo(f"phase diagram: {path}")


def _admissible_frame(result: Any) -> Any:
    import pandas as pd

    def pm(value: float, se: float) -> str:
        return f"{value:.4g} ± {se:.2g}"

    rows = [
        {
            "n_s": p.n_synthetic,
            "n_s/n_r": f"{p.n_synthetic / p.n_real:.3g}",
            "n_e": pm(p.n_effective, p.stderr) + (" (floor)" if p.at_floor else ""),
            "n_e/n_r": pm(p.ratio, p.ratio_stderr),
            "admissible": "yes" if p.admissible else "no",
            "repeats": p.repeats,
        }
        for p in result.curve
    ]
    return pd.DataFrame(rows)
