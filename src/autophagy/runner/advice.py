"""The advisor: which loop and mitigation keep the error lowest after T generations, and how
much synthetic data per generation is admissible (``autophagy advise``).

For one family and one real budget n_r it builds one experiment per *policy* (a loop kind plus
at most one mitigation stage; :func:`policies`) and answers E metric_T for each:

* from **theory** where a closed form exists — :func:`autophagy.theory.predict` (Gaussian
  moments of every loop but ``keep_original``, the mitigated Gaussian loops, E W₂² of the 1-d
  self-corrected loop, the least-squares regression chains), plus E W₂² of the rejection loop
  at λ = 1, which is one fit on n_s exact draws (:func:`autophagy.theory.expected_distance`);
* from a **simulation** on the lab (:func:`autophagy.run` in memory) otherwise, within a time
  budget: a pilot run times one generation, the repeats (and, if even two repeats would not
  fit, the generations) are scaled to each policy's share of what is left, and the answer is
  the mean over repeats at the last generation with its standard error std/√R.

The admissible amount of synthetic data is the n_e calculator of MAD §5
(:func:`autophagy.theory.admissible_synthetic`), for the Gaussian family only.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autophagy._validation import check
from autophagy.exceptions import AutophagyError, InvalidParameterError

#: family → (the error metric, its label, the data and generator sections, needs --dim, default dim)
FAMILIES: dict[str, dict[str, Any]] = {
    "gaussian": {"metric": "gaussian_w2", "label": "E W2² to the truth", "needs_dim": True},
    "gmm": {"metric": "frechet", "label": "Fréchet distance", "needs_dim": False, "dim": 2},
    "kde": {"metric": "frechet", "label": "Fréchet distance", "needs_dim": False, "dim": 2},
    "linear": {"metric": "test_error", "label": "downstream test error", "needs_dim": True},
    "ngram": {"metric": "kl_to_truth", "label": "KL to the grammar (nats/token)", "needs_dim": False},
}


@dataclass(frozen=True)
class Question:
    """What the practitioner asks (the command's options, checked by :func:`check_question`)."""

    family: str
    n_real: int
    dim: int | None = None
    bias: float = 1.0
    generations: int = 10
    n_synthetic: int | None = None  # per generation; default n_real
    budget_s: float = 30.0
    tolerance: float | None = None
    keep: float = 0.5  # threshold share kept
    strength: float = 0.5  # self_correct γ
    max_repeats: int = 200
    seed: int = 0

    @property
    def n_syn(self) -> int:
        return self.n_real if self.n_synthetic is None else self.n_synthetic


@dataclass(frozen=True)
class Answer:
    """One policy's expected error at the last generation.

    ``source`` is ``theory`` (``stderr`` 0 for an exact closed form, the quadrature's Monte-Carlo
    error for E W₂² of a fit) or ``simulation`` (``stderr`` = std/√repeats). ``moments``: the
    closed-form extras (Gaussian E‖μ_T − μ‖² and E tr λΣ_T).
    """

    policy: str
    metric: str
    generation: int
    value: float
    stderr: float
    source: str
    repeats: int = 0
    seconds: float = 0.0
    moments: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Advice:
    """Every policy's answer, the admissible amount (Gaussian) and the time spent."""

    question: Question
    metric: str
    label: str
    answers: tuple[Answer, ...]
    skipped: dict[str, str]
    admissible: dict[str, Any] | None
    theory_s: float
    total_s: float


def check_question(q: Question) -> None:
    """One-line InvalidParameterError on bad input."""
    check(q.family in FAMILIES, "--family", f"one of {', '.join(FAMILIES)}", q.family)
    spec = FAMILIES[q.family]
    if spec["needs_dim"]:
        check(q.dim is not None, "--dim", f"given for the {q.family} family (an int >= 1)", q.dim)
    check(q.dim is None or q.dim >= 1, "--dim", "an int >= 1", q.dim)
    dim = q.dim or spec.get("dim", 1)
    floor = dim + 2 if q.family == "linear" else (dim + 1 if q.family in ("gaussian", "gmm", "kde") else 2)
    check(q.n_real >= floor, "--n-real", f"an int >= {floor} for {q.family} in dimension {dim}", q.n_real)
    check(q.n_syn >= 2, "--n-synthetic", "an int >= 2", q.n_syn)
    check(0.0 < q.bias <= 1.0, "--bias", "in (0, 1]", q.bias)
    check(1 <= q.generations <= 1000, "--generations", "an int in [1, 1000]", q.generations)
    check(math.isfinite(q.budget_s) and q.budget_s > 0, "--budget-s", "a float > 0 (seconds)", q.budget_s)
    check(q.tolerance is None or q.tolerance > 0, "--tolerance", "a float > 0", q.tolerance)
    check(0.0 < q.keep < 1.0, "--keep", "in (0, 1)", q.keep)
    check(0.0 <= q.strength <= 1.0, "--strength", "in [0, 1]", q.strength)
    check(q.max_repeats >= 2, "--max-repeats", "an int >= 2", q.max_repeats)


def _base(q: Question) -> dict[str, Any]:
    dim = q.dim or FAMILIES[q.family].get("dim", 2)
    metric = FAMILIES[q.family]["metric"]
    if q.family == "gaussian":
        data: dict[str, Any] = {"kind": "gaussian", "dim": dim}
        generator: dict[str, Any] = {"kind": "gaussian", "estimator": "unbiased"}
        metrics, ev = [metric, "mean_sq_error", "cov_trace"], dict[str, Any]()
    elif q.family in ("gmm", "kde"):
        data = {"kind": "gmm", "layout": "random", "dim": dim, "n_components": 4, "spread": 6.0, "std": 0.5, "layout_seed": 3}
        generator = {"kind": "gmm", "n_components": 4} if q.family == "gmm" else {"kind": "kde"}
        metrics, ev = [metric], {"n_samples": 500}
    elif q.family == "linear":
        data = {"kind": "linear", "dim": dim, "noise": 0.1}
        generator = {"kind": "linear_ridge", "alpha": 0.0}
        metrics, ev = [metric], {"n_samples": q.n_real, "downstream_ridge": 0.0, "snapshot_size": 0}
    else:
        data, generator = {"kind": "grammar"}, {"kind": "ngram", "order": 2}
        metrics, ev = [metric], {"n_samples": 200, "snapshot_size": 0}
    generator["bias"] = q.bias
    return {"name": f"advise-{q.family}", "seed": q.seed, "generations": q.generations, "repeats": 1,
            "data": data, "generator": generator, "metrics": metrics, "eval": ev}


def policies(q: Question) -> dict[str, dict[str, Any]]:
    """Policy name → its experiment config (loops at n_r real, n_s synthetic per generation)."""
    n_r, n_s = q.n_real, q.n_syn
    synthetic = {"kind": "fully_synthetic", "n_real": n_r, "n_synthetic": n_s}
    loops: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
        "fully_synthetic": (synthetic, []),
        "fresh": ({"kind": "fresh", "n_real": n_r, "n_synthetic": n_s}, []),
        "keep_original(10%)": ({"kind": "keep_original", "n_real": n_r, "keep": 0.1, "n_synthetic": n_s - n_s // 10}, []),
        "accumulate": ({"kind": "accumulate", "n_real": n_r, "n_synthetic": n_s}, []),
        "rejection": (synthetic, [{"kind": "rejection"}]),
        "self_correct": (synthetic, [{"kind": "self_correct", "strength": q.strength}]),
    }
    if q.family == "gaussian":  # the closed form: curating by the model's own likelihood
        loops["threshold(self_loglik)"] = (synthetic, [{"kind": "threshold", "score": "self_loglik", "keep": q.keep}])
    elif q.family != "linear":
        loops["threshold(true_loglik)"] = (synthetic, [{"kind": "threshold", "score": "true_loglik", "keep": q.keep}])
    if q.family == "ngram":
        loops["watermark(filter)"] = ({"kind": "fresh", "n_real": n_r, "n_synthetic": n_s}, [{"kind": "watermark", "filter": True}])
    out = {}
    for name, (loop, stages) in loops.items():
        config = _base(q) | {"loop": dict(loop), "mitigation": stages}
        out[name] = config
    return out


# -- theory ---------------------------------------------------------------------------------------
def theory_answer(name: str, config: Mapping[str, Any], q: Question) -> Answer | None:
    """The closed-form answer for one policy's config, or None where there is none."""
    from autophagy.theory import expected_distance, predict

    metric, t = FAMILIES[q.family]["metric"], q.generations
    at = np.array([t])
    moments: dict[str, float] = {}
    if q.family == "gaussian":
        for m in ("mean_sq_error", "cov_trace"):
            value = predict(config, m, at)
            if value is not None:
                moments[m] = float(value[0])
    # predict's regression chains ignore stages: a mitigated chain has no closed form here
    value = None if q.family == "linear" and config.get("mitigation") else predict(config, metric, at)
    if value is not None:
        return Answer(name, metric, t, float(value[0]), 0.0, "theory", moments=moments, config=dict(config))
    stage = (config.get("mitigation") or [{}])[0].get("kind")
    exact_draws = stage == "rejection" or (stage == "self_correct" and q.strength == 1.0)
    if q.family == "gaussian" and exact_draws and config["loop"]["kind"] == "fully_synthetic" and t >= 2:
        # from generation 2 on, G^t is fitted to n = n_s exact draws of the truth N(0, I_d) and
        # samples N(μ_t, λΣ_t): E W2² = d/n + λ d (n-1)/(n-1) + d - 2√λ E tr Σ̂^{1/2} (unbiased
        # fits), and expected_distance(n) = d/n + 2d - 2 E tr Σ̂^{1/2} gives the last term
        assert q.dim is not None
        n, d, root = q.n_syn, q.dim, math.sqrt(q.bias)
        estimate = expected_distance(n, d, estimator="unbiased")
        half_root = (d / n + 2 * d - estimate.value) / 2  # E tr Σ̂^{1/2}
        w2 = d / n + q.bias * d + d - 2 * root * half_root
        return Answer(name, metric, t, w2, root * estimate.stderr, "theory", moments=moments, config=dict(config),
                      note="one fit on n_s exact draws; ± the quadrature's Monte-Carlo error")
    if moments:  # the moments alone: W2² still needs a simulation
        return Answer(name, metric, t, math.nan, math.nan, "theory", moments=moments, config=dict(config))
    return None


# -- simulation -----------------------------------------------------------------------------------
def _batched(config: Mapping[str, Any]) -> bool:
    """Exact engine (repeats batched): Gaussian or linear data with its own generator, no stages."""
    kinds = (config["data"]["kind"], config["generator"]["kind"])
    return kinds in (("gaussian", "gaussian"), ("linear", "linear_ridge")) and not config.get("mitigation")


def _last_values(result: Any, metric: str, generation: int) -> np.ndarray:
    rows = result.metrics
    values = rows.loc[(rows.metric == metric) & (rows.generation == generation) & (rows.lineage == 0), "value"]
    return np.asarray(values, dtype=float)


def simulate(name: str, config: Mapping[str, Any], metric: str, share_s: float, max_repeats: int) -> Answer:
    """E metric at the last generation by ``autophagy.run`` in memory, sized to ``share_s`` seconds.

    A pilot (the exact engine: 8 batched repeats of every generation; otherwise 1 repeat of up to
    2 generations) gives the cost c of one repeat-generation; then R = share / (c T) repeats,
    capped at ``max_repeats``, at least 2; if 2 repeats of T generations would not fit, the
    generations are cut to share / (2c) and the answer says so.
    """
    from autophagy.runner.loop import run

    generations = int(config["generations"])
    batched = _batched(config)
    pilot_repeats, pilot_gens = (8, generations) if batched else (1, min(generations, 2))
    start = time.perf_counter()
    pilot = run(dict(config) | {"repeats": pilot_repeats, "generations": pilot_gens}, out=None)
    cost = (time.perf_counter() - start) / (pilot_repeats * pilot_gens)  # seconds per repeat-generation
    left = max(share_s - (time.perf_counter() - start), 0.0)
    note = ""
    repeats = int(min(max_repeats, left / (cost * generations)))
    if repeats < 2:
        cut = max(1, min(generations, int(left / (2 * cost))))
        if cut < generations:
            note = f"budget: cut to {cut} of {generations} generations"
        generations, repeats = cut, 2
    if batched and repeats <= pilot_repeats and generations == pilot_gens:
        result, repeats = pilot, pilot_repeats  # the pilot already is the answer
    else:
        result = run(dict(config) | {"repeats": repeats, "generations": generations}, out=None)
    values = _last_values(result, metric, generations)
    finite = values[np.isfinite(values)]
    if len(finite) < len(values):
        note = (note + "; " if note else "") + f"{len(values) - len(finite)} degenerate repeats dropped"
    mean = float(finite.mean()) if len(finite) else math.nan
    se = float(finite.std(ddof=1) / math.sqrt(len(finite))) if len(finite) > 1 else math.nan
    return Answer(name, metric, generations, mean, se, "simulation", repeats=len(finite),
                  seconds=time.perf_counter() - start, config=dict(config) | {"generations": generations}, note=note)


def admissible(q: Question, precision: float = 0.05, max_repeats: int = 1024) -> dict[str, Any] | None:
    """The MAD §5 answer for the Gaussian family: n_e/n_r per n_s and the largest admissible n_s
    (and, with a tolerance, the largest n_s whose limit E W₂² stays below it)."""
    if q.family != "gaussian" or q.dim is None or q.n_real <= q.dim:
        return None
    from autophagy.theory import admissible_synthetic

    result = admissible_synthetic(q.n_real, q.bias, q.dim, precision=precision, max_repeats=max_repeats, seed=q.seed)
    curve = [{"n_synthetic": p.n_synthetic, "n_effective": p.n_effective, "ratio": p.ratio, "ratio_stderr": p.ratio_stderr,
              "limit_w2": p.limit.value, "limit_w2_stderr": p.limit.stderr} for p in result.curve]
    out: dict[str, Any] = {"precision": precision, "curve": curve, "threshold": result.threshold,
                           "threshold_bracket": list(result.threshold_bracket) if result.threshold_bracket else None}
    if q.tolerance is not None:
        within = [c["n_synthetic"] for c in curve if c["limit_w2"] <= q.tolerance]
        out["within_tolerance"] = max(within) if within else None
    return out


def advise(q: Question) -> Advice:
    """Answer ``q``: theory first (timed), then each remaining policy simulated within the budget."""
    from autophagy.config import load_config

    check_question(q)
    start = time.perf_counter()
    spec = FAMILIES[q.family]
    answers: dict[str, Answer] = {}
    pending: dict[str, tuple[dict[str, Any], Answer | None]] = {}
    skipped: dict[str, str] = {}
    for name, config in policies(q).items():
        try:
            load_config(config)
        except InvalidParameterError as exc:  # the lab refuses this policy for this family
            skipped[name] = str(exc)
            continue
        found = theory_answer(name, config, q)
        if found is not None and math.isfinite(found.value):
            answers[name] = found
        else:
            pending[name] = (config, found)
    advice_admissible = admissible(q)
    theory_s = time.perf_counter() - start
    if pending:  # one tiny run first, so that one-time costs (imports, caches) do not bias the first pilot
        from autophagy.runner.loop import run

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(next(iter(pending.values()))[0] | {"repeats": 1, "generations": 1}, out=None)
    for i, (name, (config, partial)) in enumerate(pending.items()):
        share = (q.budget_s - (time.perf_counter() - start)) / (len(pending) - i)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                simulated = simulate(name, config, spec["metric"], share, q.max_repeats)
        except AutophagyError as exc:  # e.g. a stage that starves the fit
            skipped[name] = f"simulation failed: {exc}"
            continue
        if caught:
            kinds = sorted({w.category.__name__ for w in caught})
            simulated = Answer(**{**simulated.__dict__, "note": "; ".join(filter(None, [simulated.note, "warned: " + ", ".join(kinds)]))})
        if partial is not None:  # keep the closed-form moments beside the simulated metric
            simulated = Answer(**{**simulated.__dict__, "moments": partial.moments})
        answers[name] = simulated
    order = [n for n in policies(q) if n in answers]
    return Advice(q, spec["metric"], spec["label"], tuple(answers[n] for n in order), skipped, advice_admissible,
                  theory_s, time.perf_counter() - start)
