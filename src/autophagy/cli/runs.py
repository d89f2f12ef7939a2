"""Commands that run experiments and read the run store: ``run``, ``sweep``, ``status``, ``runs``,
``query``, ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from autophagy.cli._app import (
    FormatOption,
    MaxMemoryOption,
    OutOption,
    SetOption,
    _at_least_one,
    _check_format,
    _check_out,
    _console,
    _memory_estimate,
    _print_frame,
    _progress,
    app,
)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file (with a sweep: section, each of its runs in turn, or --only one).")],
    set_: SetOption = None,
    out: OutOption = Path("runs"),
    only: Annotated[str | None, typer.Option("--only", help="Of a sweep file's runs, only this one: its index (0, 1, ...) or run id (--dry-run lists them).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the resolved config and its memory estimate (a sweep file: its runs), and exit.")] = False,
    max_memory: MaxMemoryOption = None,
    backend: Annotated[str, typer.Option("--backend", help="A web's lineages: local | process | ray (the same rows on each).")] = "local",
    workers: Annotated[int | None, typer.Option("--workers", help="With --backend process or ray: workers for a web's lineages (default: cores).")] = None,
    address: Annotated[str | None, typer.Option("--address", help="With --backend ray: the cluster to join (default: start Ray here).")] = None,
) -> None:
    """Run (or resume) an experiment in this process and print where its results are; a sweep
    file's runs one after the other (``autophagy sweep`` spreads them over workers)."""
    from autophagy._validation import check
    from autophagy.config import dump_yaml
    from autophagy.core.memory import memory_budget
    from autophagy.runner.executors import BACKENDS
    from autophagy.runner.loop import run as run_experiment
    from autophagy.runner.sweep import expand
    from autophagy.runner.web_backend import lineage_backend

    _at_least_one(workers, "--workers")
    check(backend in BACKENDS, "--backend", f"one of {', '.join(BACKENDS)}", backend)
    check(address is None or backend == "ray", "--address", "given only with --backend ray", address)
    with memory_budget(max_memory):
        configs = expand(config, set_ or [])  # every run of a sweep file validated before any starts
    if only is not None:
        configs = [_only(configs, only)]
    if dry_run:
        from autophagy.core.memory import describe

        if len(configs) == 1:
            typer.echo(dump_yaml(configs[0]), nl=False)
            typer.echo(f"# {describe(_memory_estimate(configs[0]))}")
        else:
            for i, (c, point) in enumerate(zip(configs, _points(configs), strict=True)):
                typer.echo(f"{i:>4d}  {c.run_id()}  seed={c.seed}  {point}".rstrip())
        return
    _check_out(out)
    with lineage_backend(backend, workers=workers, address=address):
        for i, resolved in enumerate(configs):
            with _progress() as bar:
                of = f" [{i + 1}/{len(configs)}]" if len(configs) > 1 else ""
                task = bar.add_task(f"{resolved.name}{of} generations", total=resolved.generations)
                result = run_experiment(resolved, out=out, progress=_advance(bar, task))
                bar.update(task, completed=resolved.generations)
            _print_run(result, resolved)


def _advance(bar: Any, task: Any) -> Any:
    """A run's progress callback that moves ``task`` of ``bar`` to the generation just finished."""
    return lambda event: bar.update(task, completed=event["generation"])


def _only(configs: list[Any], only: str) -> Any:
    """The run ``--only`` names among a sweep file's expanded runs: an index or a run id (prefix)."""
    from autophagy.exceptions import InvalidParameterError

    if only.isdigit() and int(only) < len(configs):
        return configs[int(only)]
    matches = [c for c in configs if len(only) >= 4 and c.run_id().startswith(only)]
    if len(matches) == 1:
        return matches[0]
    raise InvalidParameterError(
        f"The '--only' parameter must be an index 0..{len(configs) - 1} or the run id of one of the file's {len(configs)} runs "
        f"(autophagy run FILE --dry-run lists them). Got {only!r} instead."
    )


def _points(configs: list[Any]) -> list[str]:
    """Each config's values of the keys that vary between them (``loop.kind=fresh, ...``)."""
    from autophagy.report.collect import setting_label, varying_keys
    from autophagy.store.catalog import flatten

    flats = [flatten(c.to_dict()) for c in configs]
    keys = varying_keys(flats)
    return [setting_label({k: f.get(k) for k in keys}, "") for f in flats]


def _print_run(result: Any, resolved: Any) -> None:
    """Where a run's results are, and its metrics at the last generation (a web: over its
    lineages, with their range, then the pool's rows)."""
    last = result.metrics[result.metrics["generation"] == result.metrics["generation"].max()]
    typer.echo(f"run {result.run_id}: {len(result.metrics)} rows in {result.path}")
    assert resolved.metrics is not None  # resolved by load_config
    over = "mean over lineages and repeats" if resolved.web is not None else "mean over repeats"
    summary = last[last["lineage"] >= 0].groupby("metric")["value"]
    low, mean, high = summary.min(), summary.mean(), summary.max()
    for name in resolved.metrics:
        if name in mean:
            spread = f" (lineages {low[name]:.4g} to {high[name]:.4g})" if resolved.web is not None else ""
            typer.echo(f"  {name:>20s} (generation {resolved.generations}, {over}) = {mean[name]:.4g}{spread}")
    if resolved.web is not None:  # the pool's own rows (lineage -1)
        pool = last[(last["lineage"] == -1) & last["metric"].str.startswith("pool_")].groupby("metric")["value"].mean()
        for name, value in pool.items():
            typer.echo(f"  {name:>20s} (generation {resolved.generations}, mean over repeats) = {value:.4g}")


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
    max_memory: MaxMemoryOption = None,
) -> None:
    """Run a grid of configs × seeds on a process pool or a Ray cluster (rerun to resume)."""
    from autophagy._validation import check
    from autophagy.core.memory import memory_budget
    from autophagy.runner.executors import BACKENDS
    from autophagy.runner.ray_session import require_ray
    from autophagy.runner.sweep import expand

    _at_least_one(workers, "--workers")
    check(backend in BACKENDS, "--backend", f"one of {', '.join(BACKENDS)}", backend)
    check(retries >= 0, "--retries", "an int >= 0", retries)
    check(address is None or backend == "ray", "--address", "given only with --backend ray", address)
    if backend == "ray":
        require_ray()
    if not dry_run:
        _check_out(out)
    with memory_budget(max_memory):  # every expanded config is checked against it
        configs = expand(config, set_ or [])
    if dry_run:
        from autophagy.core.memory import describe

        for c in configs:
            typer.echo(f"{c.run_id()}  seed={c.seed}")
        found = {c.run_id(): _memory_estimate(c) for c in configs}
        largest = max(found, key=lambda run_id: found[run_id].total)
        typer.echo(f"# the largest run, {largest}: {describe(found[largest])}")
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

    states = ("complete", "running", "pending", "interrupted", "failed", "corrupt")
    table = Table("experiment", "runs", *states, "generations done", title=f"runs under {escape(str(directory))}")
    for name, part in frame.groupby("name", sort=True):
        counts = part["status"].value_counts()
        done = f"{int(part['generations_done'].fillna(0).sum())} / {int(part['generations'].fillna(0).sum())}"
        table.add_row(escape(str(name)), str(len(part)), *(str(int(counts.get(s, 0))) for s in states), done)
    _console().print(table)
    for row in frame[frame["status"] == "failed"].itertuples():
        typer.echo(f"  FAILED {row.run_id} ({row.name}, {row.attempts} attempt(s)): {row.error}")
    for row in frame[frame["status"] == "corrupt"].itertuples():
        typer.echo(f"  CORRUPT {row.run_id}: {row.error}")
    unfinished = int((frame["status"] != "complete").sum())
    if unfinished:
        typer.echo(f"{unfinished} of {len(frame)} runs not complete; rerun the same sweep command to finish them")


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
    set_: SetOption = None,
) -> None:
    """The MAD loops × λ ∈ {1, 0.7} on a 2-D Gaussian mixture and an 8-d Gaussian, then the report.

    With --family: that neural family's loops (fully_synthetic / fresh × two λ, 10 generations) on
    the bundled 8×8 digits, then the report with sample grids and class histograms.
    """
    from autophagy.demo import demo_configs
    from autophagy.report import build_report

    _at_least_one(repeats, "--repeats")
    _at_least_one(workers, "--workers")
    _check_out(out)
    seeds = repeats if repeats is not None else 5 if family is None else 1
    configs = demo_configs(seeds, family, set_ or [])
    what = "3 loops x 2 biases x 2 datasets" if family is None else f"{family}: 2 loops x 2 biases"
    typer.echo(f"demo: {len(configs)} runs ({what} x {seeds} seeds) into {out}")
    code = _print_summary(_sweep(configs, out, workers))
    pages = build_report(out)
    for page in pages:
        typer.echo(f"report: {page}")
    raise typer.Exit(code)


#: λ rows of the phase diagram written by ``autophagy admissible --plot``.
