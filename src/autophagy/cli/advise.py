"""``advise``: which loop and mitigation keep the error lowest after T generations, and how much
synthetic data is admissible (theory where it exists, a budgeted simulation otherwise)."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer

from autophagy.cli._app import _check_format, _print_frame, app


@app.command()
def advise(
    family: Annotated[str, typer.Option("--family", help="gaussian | gmm | kde | linear | ngram")],
    n_real: Annotated[int, typer.Option("--n-real", help="Real samples per generation n_r.")],
    dim: Annotated[int | None, typer.Option("--dim", help="Dimension d (required for gaussian and linear).")] = None,
    bias: Annotated[float, typer.Option("--bias", help="Sampling bias λ in (0, 1] (temperature for ngram).")] = 1.0,
    generations: Annotated[int, typer.Option("--generations", help="T: the generation the error is asked at.")] = 10,
    n_synthetic: Annotated[int | None, typer.Option("--n-synthetic", help="Synthetic samples per generation (default n_r).")] = None,
    budget_s: Annotated[float, typer.Option("--budget-s", help="Seconds for the whole answer (simulations are sized to fit).")] = 30.0,
    tolerance: Annotated[float | None, typer.Option("--tolerance", help="Largest acceptable error: marks policies within it.")] = None,
    keep: Annotated[float, typer.Option("--keep", help="Share the threshold policy keeps.")] = 0.5,
    strength: Annotated[float, typer.Option("--strength", help="γ of the self_correct policy.")] = 0.5,
    max_repeats: Annotated[int, typer.Option("--max-repeats", help="Most repeats of one simulation.")] = 200,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="table | json")] = "table",
) -> None:
    """Expected error at generation T of each loop and mitigation policy, from theory or simulation.

    Closed forms (autophagy.theory) answer where they exist; every other policy is simulated
    in memory with repeats sized to --budget-s, its answer ± one Monte-Carlo standard error.
    For the Gaussian family it also gives the admissible synthetic amount (MAD §5, n_e >= n_r).
    """
    from autophagy.runner.advice import Question
    from autophagy.runner.advice import advise as answer

    _check_format(fmt, ("table", "json"))
    q = Question(family, n_real, dim, bias, generations, n_synthetic, budget_s, tolerance, keep, strength, max_repeats, seed)
    advice = answer(q)
    if fmt == "json":
        typer.echo(json.dumps(_clean(_as_json(advice)), indent=2, allow_nan=False))
        return
    _print_frame(_frame(advice), "table")
    typer.echo(
        f"{family}: n_r = {n_real}, n_s = {q.n_syn}, λ = {bias}" + (f", d = {dim}" if dim else "")
        + f"; metric: {advice.label} ({advice.metric}) at generation {generations}; ± one standard error"
    )
    for name, reason in advice.skipped.items():
        typer.echo(f"not applicable: {name}: {reason}")
    typer.echo(_admissible_line(advice))
    typer.echo(f"theory in {advice.theory_s:.1f} s, total {advice.total_s:.1f} s of a {budget_s:g} s budget")


def _frame(advice: Any) -> Any:
    import pandas as pd

    rows = []
    for a in advice.answers:
        row: dict[str, Any] = {
            "policy": a.policy,
            advice.metric: f"{a.value:.4g}" + ("" if a.stderr == 0 else f" ± {a.stderr:.2g}"),
            "source": a.source + (f" ({a.repeats} repeats)" if a.source == "simulation" else ""),
        }
        if advice.question.family == "gaussian":
            row["E‖μ_T−μ‖² (theory)"] = _num(a.moments.get("mean_sq_error"))
            row["E tr λΣ_T (theory)"] = _num(a.moments.get("cov_trace"))
        if advice.question.tolerance is not None:
            row["within tolerance"] = "yes" if a.value <= advice.question.tolerance else "no"
        row["note"] = (f"at generation {a.generation}; " if a.generation != advice.question.generations else "") + a.note
        rows.append(row)
    return pd.DataFrame(rows)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _admissible_line(advice: Any) -> str:
    a = advice.admissible
    if a is None:
        return "admissible synthetic amount: closed form for the gaussian family only (MAD §5 n_e calculator)"
    text = f"admissible synthetic amount (fresh loop's limit, n_e/n_r ± {a['precision']:.0%}): "
    if a["threshold_bracket"] is None:
        text += "every n_s tried keeps n_e >= n_r"
    elif a["threshold_bracket"][0] == a["threshold_bracket"][1]:
        text += "no n_s > 0 keeps n_e >= n_r"
    else:
        lo, hi = a["threshold_bracket"]
        text += f"up to n_s = {lo} per generation (n_e/n_r crosses 1 between {lo} and {hi})"
    if "within_tolerance" in a:
        best = a["within_tolerance"]
        text += "; largest n_s tried with limit E W2² <= tolerance: " + (str(best) if best is not None else "none")
    return text


def _as_json(advice: Any) -> dict[str, Any]:
    return {
        "question": advice.question.__dict__,
        "metric": advice.metric,
        "label": advice.label,
        "answers": [a.__dict__ for a in advice.answers],
        "skipped": advice.skipped,
        "admissible": advice.admissible,
        "theory_s": advice.theory_s,
        "total_s": advice.total_s,
    }


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and inf become null (strict JSON), numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
