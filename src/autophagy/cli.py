"""Command line: ``autophagy run | sweep | status | report | list | demo | runs | query``.

Exit codes: 0 on success, 2 on a bad config or bad input (one line naming the key, the value
and what is allowed; no traceback), 1 when runs of a sweep failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from autophagy.exceptions import AutophagyError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Self-consuming generative training loops.")

SetOption = Annotated[list[str] | None, typer.Option("--set", help="Override a config key: --set generator.bias=0.7")]
OutOption = Annotated[Path, typer.Option("--out", help="Root directory of the run store.")]
FormatOption = Annotated[str, typer.Option("--format", help="table | json | csv")]


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=False)


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    set_: SetOption = None,
    out: OutOption = Path("runs"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the resolved config and exit.")] = False,
) -> None:
    """Run (or resume) one experiment and print where its results are."""
    from autophagy.config import dump_yaml, load_config
    from autophagy.runner.loop import run as run_experiment

    resolved = load_config(config, set_ or [])
    if dry_run:
        typer.echo(dump_yaml(resolved), nl=False)
        return
    with _progress() as bar:
        task = bar.add_task(f"{resolved.name} generations", total=resolved.generations)
        result = run_experiment(resolved, out=out, progress=lambda e: bar.update(task, completed=e["generation"]))
        bar.update(task, completed=resolved.generations)
    last = result.metrics[result.metrics["generation"] == result.metrics["generation"].max()]
    summary = last.groupby("metric")["value"].mean()
    typer.echo(f"run {result.run_id}: {len(result.metrics)} rows in {result.path}")
    for name in resolved.metrics:
        if name in summary:
            typer.echo(f"  {name:>20s} (generation {resolved.generations}, mean over repeats) = {summary[name]:.4g}")


def _at_least_one(value: int | None, option: str) -> None:
    from autophagy._validation import check

    check(value is None or value >= 1, option, "an int >= 1", value)


def _sweep(
    configs: list[Any], out: Path, workers: int | None, backend: str = "process", address: str | None = None, retries: int = 1
) -> list[dict[str, Any]]:
    """Run a sweep under a Rich progress display: runs done / total with ETA, failures, generations."""
    from autophagy.runner.sweep import run_sweep

    total_generations = sum(c.generations for c in configs)
    generations_of = {c.run_id(): c.generations for c in configs}
    failures = 0
    with _progress() as bar:
        runs = bar.add_task("runs", total=len(configs))
        # Ray workers report whole runs only, so their sweeps show no generation bar
        gens = bar.add_task("generations", total=total_generations, visible=backend != "ray")

        def on_event(event: dict[str, Any]) -> None:
            nonlocal failures
            if event["kind"] == "generation":
                bar.advance(gens)
            elif event["kind"] == "run":
                failures += event["status"] == "failed"
                bar.advance(runs)
                if event.get("skipped"):  # finished by an earlier sweep
                    bar.advance(gens, generations_of.get(event["run_id"], 0))
                bar.update(runs, description=f"runs ({failures} failed)" if failures else "runs")

        summaries = run_sweep(configs, out=out, workers=workers, backend=backend, address=address, retries=retries, on_event=on_event)
        bar.update(gens, completed=total_generations)
    return summaries


def _print_summary(summaries: list[dict[str, Any]]) -> int:
    """The sweep's table (runs per experiment and status, failures with their error); exit code."""
    from collections import Counter

    from rich.markup import escape
    from rich.table import Table

    counts = Counter((s["name"], "skipped" if s["skipped"] else s["status"]) for s in summaries)
    table = Table("experiment", "runs", "computed", "already complete", "failed", "compute (s)", title="sweep summary")
    for name in sorted({s["name"] for s in summaries}):
        mine = [s for s in summaries if s["name"] == name]
        table.add_row(
            escape(name), str(len(mine)), str(counts[(name, "complete")]), str(counts[(name, "skipped")]),
            str(counts[(name, "failed")]), f"{sum(s['compute_s'] for s in mine):.1f}",
        )
    _console().print(table)
    failed = [s for s in summaries if s["status"] != "complete"]
    typer.echo(f"{len(summaries) - len(failed)} of {len(summaries)} runs complete")
    for s in failed:
        typer.echo(f"  FAILED {s['run_id']} after {s['attempts']} attempt(s): {s['error']}", err=True)
    return 1 if failed else 0


BackendOption = Annotated[str, typer.Option("--backend", help="local | process | ray (needs the 'ray' extra).")]
AddressOption = Annotated[str | None, typer.Option("--address", help="With --backend ray: the cluster to join (default: start Ray here).")]
RetriesOption = Annotated[int, typer.Option("--retries", help="Extra attempts of a failed run before it is reported.")]


@app.command()
def sweep(
    config: Annotated[Path, typer.Argument(help="Experiment YAML with a sweep section.")],
    set_: SetOption = None,
    out: OutOption = Path("runs"),
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: cores).")] = None,
    backend: BackendOption = "process",
    address: AddressOption = None,
    retries: RetriesOption = 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the expanded runs and exit.")] = False,
) -> None:
    """Run a grid of configs × seeds on a process pool or a Ray cluster (rerun to resume)."""
    from autophagy._validation import check
    from autophagy.runner.executors import BACKENDS, require_ray
    from autophagy.runner.sweep import expand

    _at_least_one(workers, "--workers")
    check(backend in BACKENDS, "--backend", f"one of {', '.join(BACKENDS)}", backend)
    check(retries >= 0, "--retries", "an int >= 0", retries)
    check(address is None or backend == "ray", "--address", "given only with --backend ray", address)
    if backend == "ray":
        require_ray()
    configs = expand(config, set_ or [])
    if dry_run:
        for c in configs:
            typer.echo(f"{c.run_id()}  seed={c.seed}")
        return
    code = _print_summary(_sweep(configs, out, workers, backend, address, retries))
    typer.echo(f"results in {out}; state: autophagy status {out}; report: autophagy report {out}")
    raise typer.Exit(code)


@app.command()
def status(directory: Annotated[Path, typer.Argument(help="A run store.")], fmt: FormatOption = "table") -> None:
    """A sweep's state from disk alone: runs per status, progress, failures with their error."""
    from autophagy.store.catalog import runs_table

    _check_format(fmt, ("table", "json", "csv"))
    frame = runs_table(directory)
    if frame.empty:
        typer.echo(f"no runs under {directory}")
        return
    if fmt != "table":
        _print_frame(frame[["run_id", "name", "status", "generations", "generations_done", "attempts", "error", "path"]], fmt)
        return
    from rich.markup import escape
    from rich.table import Table

    states = ("complete", "running", "pending", "interrupted", "failed")
    table = Table("experiment", "runs", *states, "generations done", title=f"runs under {escape(str(directory))}")
    for name, part in frame.groupby("name", sort=True):
        counts = part["status"].value_counts()
        done = f"{int(part['generations_done'].fillna(0).sum())} / {int(part['generations'].fillna(0).sum())}"
        table.add_row(escape(str(name)), str(len(part)), *(str(int(counts.get(s, 0))) for s in states), done)
    _console().print(table)
    for row in frame[frame["status"] == "failed"].itertuples():
        typer.echo(f"  FAILED {row.run_id} ({row.name}, {row.attempts} attempt(s)): {row.error}")
    unfinished = int((frame["status"] != "complete").sum())
    if unfinished:
        typer.echo(f"{unfinished} of {len(frame)} runs not complete; rerun the same sweep command to finish them")


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
) -> None:
    """Write PNG figures and one self-contained HTML page per experiment, and print the pages.

    With --by: one page comparing every run under DIR (any experiment), grouped by those keys.
    Per metric: the mean over every seed of a group's runs against generation, with a 95 % band.
    It lists the config keys pooled inside a group, and each group's runs, seeds and statuses.
    The page works offline (plotly.js inlined once); the charts' PNGs go to OUT/figures/.
    """
    from autophagy.exceptions import InvalidParameterError
    from autophagy.report import build_comparison, build_report

    if by:
        typer.echo(str(build_comparison(directory, by, out, metric)))
        return
    if metric:
        raise InvalidParameterError(f"The '--metric' parameter needs --by KEY. Got {metric[0]!r} without --by instead.")
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


@app.command()
def runs(
    directory: Annotated[Path, typer.Argument(help="A run store.")],
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="SQL condition on the columns, e.g. \"loop.kind = 'fresh' AND final.frechet > 1\" (repeatable: ANDed)."),
    ] = None,
    fmt: FormatOption = "table",
) -> None:
    """List the runs under DIR: status, flattened config keys and last-generation metrics (final.*)."""
    from autophagy.store.catalog import catalog

    _check_format(fmt, ("table", "json", "csv"))
    frame = catalog(directory, where)
    if fmt != "table" or frame.empty:
        _print_frame(frame, fmt)
        return
    from autophagy.report.collect import BOOKKEEPING

    hidden = {"path", "error", "compute_s", "attempts", "generations", *(f"final.{m}" for m in BOOKKEEPING)}
    shown = [c for c in frame.columns if c in ("run_id", "name", "status", "generations_done")
             or (c not in hidden and (c.startswith("final.") or frame[c].astype(str).nunique() > 1))]
    _print_frame(frame[shown].map(lambda v: f"{v:.4g}" if isinstance(v, float) else v), fmt)
    typer.echo(f"{len(frame)} runs; {len(frame.columns) - len(shown)} columns the same in every run or bookkeeping are "
               "left out here (--format json or csv has them all)")


@app.command()
def query(
    directory: Annotated[Path, typer.Argument(help="A run store.")],
    sql: Annotated[str, typer.Argument(help="SQL over the views `metrics` and `runs`.")] = "SELECT * FROM metrics LIMIT 20",
    fmt: FormatOption = "table",
) -> None:
    """Query every run's metrics under DIR with DuckDB."""
    from autophagy.store.catalog import query as run_query

    _print_frame(run_query(directory, sql), fmt)


@app.command()
def demo(
    out: OutOption = Path("runs/demo"),
    repeats: Annotated[int | None, typer.Option("--repeats", help="Seeds per setting (default 5; 1 with --family).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: cores).")] = None,
    family: Annotated[
        str | None, typer.Option("--family", help="A neural family's demo on the bundled digits instead: vae, ddpm or gan (needs the 'neural' extra).")
    ] = None,
) -> None:
    """The MAD loops × λ ∈ {1, 0.7} on a 2-D Gaussian mixture and an 8-d Gaussian, then the report.

    With --family: that neural family's loops (fully_synthetic / fresh × two λ, 10 generations) on
    the bundled 8×8 digits, then the report with sample grids and class histograms.
    """
    from autophagy.demo import demo_configs
    from autophagy.report import build_report

    _at_least_one(repeats, "--repeats")
    _at_least_one(workers, "--workers")
    seeds = repeats if repeats is not None else 5 if family is None else 1
    configs = demo_configs(seeds, family)
    what = "3 loops x 2 biases x 2 datasets" if family is None else f"{family}: 2 loops x 2 biases"
    typer.echo(f"demo: {len(configs)} runs ({what} x {seeds} seeds) into {out}")
    code = _print_summary(_sweep(configs, out, workers))
    pages = build_report(out)
    for page in pages:
        typer.echo(f"report: {page}")
    raise typer.Exit(code)


#: λ rows of the phase diagram written by ``autophagy admissible --plot``.
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


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    from autophagy.exceptions import InvalidParameterError

    if fmt not in allowed:
        raise InvalidParameterError(f"The '--format' parameter must be one of {', '.join(allowed)}. Got {fmt!r} instead.")


def _print_frame(frame: Any, fmt: str) -> None:
    _check_format(fmt, ("table", "json", "csv"))
    if fmt == "json":
        typer.echo(frame.to_json(orient="records", indent=2))
    elif fmt == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        from rich.markup import escape
        from rich.table import Table

        table = Table(*[escape(str(c)) for c in frame.columns])
        for row in frame.itertuples(index=False):
            table.add_row(*[escape(str(v)) for v in row])
        _console().print(table)


#: Click's base exception, wherever this Typer keeps Click (recent Typer vendors it as
#: ``typer._click``, older ones depend on the ``click`` package): found through a public class.
_CLICK_EXCEPTION: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        code = app(args=argv, standalone_mode=False)
    except AutophagyError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted; rerun the same command to resume", err=True)
        return 130
    except _CLICK_EXCEPTION as exc:  # usage errors: unknown option, missing or ill-typed value
        exc.show()
        return 2
    return int(code) if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
