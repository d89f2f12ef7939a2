"""``web-share``: what human share keeps a web of Gaussian lineages below an error ε?"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from autophagy.cli._app import _check_format, _print_frame, app


@app.command("web-share")
def web_share(
    epsilon: Annotated[float, typer.Option("--epsilon", help="The largest acceptable E W2² of a lineage to the truth.")],
    n_train: Annotated[int, typer.Option("--n-train", help="Items each lineage draws from the pool per generation.")],
    publish: Annotated[int, typer.Option("--publish", help="Items each lineage publishes per generation.")],
    pool_size: Annotated[int, typer.Option("--pool-size", help="Items the pool keeps (FIFO).")],
    lineages: Annotated[int, typer.Option("--lineages", help="Number of lineages L.")],
    dim: Annotated[int, typer.Option("--dim", help="Dimension d (truth N(0, I_d) unless --trace).")],
    bias: Annotated[float, typer.Option("--bias", help="Sampling bias λ in (0, 1] of what lineages publish.")] = 1.0,
    trace: Annotated[float | None, typer.Option("--trace", help="tr Σ of an isotropic truth (default d).")] = None,
    estimator: Annotated[str, typer.Option("--estimator", help="unbiased or mle.")] = "unbiased",
    grid: Annotated[int, typer.Option("--grid", help="Shares tried before bisection: 1/grid, 2/grid, ..., 1.")] = 10,
    fmt: Annotated[str, typer.Option("--format", help="table | json")] = "table",
) -> None:
    """The smallest human share p of each generation's arrivals whose stationary E W₂² stays <= ε.

    Gaussian lineages drawing uniformly from a FIFO pool (autophagy.theory.web_fixed_point);
    prints p → E W₂² ± its Monte-Carlo standard error, then the answer.
    """
    import pandas as pd

    from autophagy.theory import human_share_for

    _check_format(fmt, ("table", "json"))
    answer = human_share_for(
        epsilon, n_train, publish, pool_size, lineages=lineages, dim=dim, trace=trace, bias=bias,
        estimator=estimator, grid=grid,
    )
    rows = [{"human_share": p, "w2": value, "w2_stderr": se, "below_epsilon": value <= epsilon} for p, value, se in answer.table]
    if fmt == "json":
        typer.echo(json.dumps({"epsilon": epsilon, "share": answer.share, "floor": answer.floor, "table": rows}, indent=2))
        return
    frame = pd.DataFrame(rows)
    frame["w2"] = [f"{v:.4g} ± {s:.2g}" for v, s in zip(frame["w2"], frame["w2_stderr"], strict=True)]
    _print_frame(frame.drop(columns="w2_stderr").rename(columns={"w2": "E W2²"}), fmt)
    typer.echo(
        f"L = {lineages}, n_train = {n_train}, publish = {publish}, pool = {pool_size}, d = {dim}, λ = {bias}, {estimator} fits; "
        f"all-human floor E W2² = {answer.floor:.4g}"
    )
    typer.echo(f"smallest human share with E W2² <= {epsilon:g}: p = {answer.share:.3f}")
