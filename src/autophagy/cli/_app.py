"""The Typer app every command registers on, and what the commands share (options, output)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Self-consuming generative training loops.")

SetOption = Annotated[list[str] | None, typer.Option("--set", help="Override a config key: --set generator.bias=0.7")]
OutOption = Annotated[Path, typer.Option("--out", help="Root directory of the run store.")]
MaxMemoryOption = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        help="Refuse a config whose estimated peak memory is above this (e.g. 8G, 512M, or bytes; "
        "default: $AUTOPHAGY_MAX_MEMORY, else the memory available now).",
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="table | json | csv")]


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=False)


def _progress() -> Any:
    from rich import progress as rp

    return rp.Progress(
        rp.TextColumn("{task.description}"),
        rp.BarColumn(),
        rp.MofNCompleteColumn(),
        rp.TimeElapsedColumn(),
        rp.TimeRemainingColumn(),
        transient=False,
    )


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


def _at_least_one(value: int | None, option: str) -> None:
    from autophagy._validation import check

    check(value is None or value >= 1, option, "an int >= 1", value)


def _check_out(out: Path, option: str = "--out") -> None:
    """``out`` must be a directory or a path where one can be made: no part of it an existing file."""
    from autophagy.store.rundir import check_directory

    check_directory(out, option)


def _memory_estimate(config: Any) -> Any:
    """The config's peak-memory estimate (:class:`autophagy.core.memory.Estimate`, bytes)."""
    from autophagy.config import memory_estimate
    from autophagy.registry import build_source

    return memory_estimate(config) or memory_estimate(config, width=build_source(config).dim)
