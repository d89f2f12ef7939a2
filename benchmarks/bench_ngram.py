"""Benchmark: the ``ngram`` generator (trigram, modified Kneser–Ney), 20 fully synthetic generations on 1M tokens.

Generation 0 fits an :class:`~autophagy.text.ngram_model.NGramLM` (order 3, V = 2000, seq_len 64) on
15,625 real sequences (1,000,000 tokens); every later generation fits a fresh model on the
1,000,000 tokens the previous one sampled (λ = ``--bias``, default 1: the model's exact
distribution). Real data come from :func:`real_sequences`: by default a synthetic Zipfian
first-order Markov chain built here (each word has 64 successors drawn from a Zipf(1) law, taken
with Zipf(1.1) weights, and a 10 % jump to a Zipf word), or ``--data grammar`` for the lab's
known-language source (``data.kind: grammar``, V = 2000, seq_len 64).

Printed, as the median of ``--reps`` runs of the whole chain (``time.perf_counter``): per
generation the fit and sample throughput (tokens/s) and the held-out perplexity on 1,000 real
sequences (exp of the mean negative log-likelihood per token; it should rise as the loop
forgets the tails); then the total fit + sample time of the 20 generations (held-out scoring
excluded, printed apart) against the issue's target of 60 s, as a ratio.

    .venv/bin/python benchmarks/bench_ngram.py [--reps 3] [--bias 1.0] [--data synthetic|grammar]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from autophagy.text.ngram_model import NGramLM  # noqa: E402

VOCAB, SEQ_LEN, N_SEQ, N_HELDOUT, GENERATIONS, ORDER, SEED = 2000, 64, 15_625, 1_000, 20, 3, 0
TARGET_S = 60.0


def zipf_chain(
    seed: int = 0, successors: int = 64, jump: float = 0.1
) -> Callable[[int, np.random.Generator], np.ndarray]:
    """A sampler ``draw(n, rng) -> (n, SEQ_LEN)`` of a Zipfian first-order Markov chain (tables from ``seed``)."""
    tables = np.random.default_rng(seed)
    zipf = 1.0 / np.arange(1, VOCAB + 1)
    zipf /= zipf.sum()
    nxt = np.stack(
        [tables.choice(VOCAB, successors, replace=False, p=zipf) for _ in range(VOCAB)]
    )  # (V, S)
    weights = np.arange(1, successors + 1) ** -1.1
    slot_cdf, zipf_cdf = np.cumsum(weights / weights.sum()), np.cumsum(zipf)

    def inverse(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1)

    def draw(n: int, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((n, SEQ_LEN), np.int64)
        state = inverse(zipf_cdf, rng.random(n))
        for t in range(SEQ_LEN):
            out[:, t] = state
            state = nxt[state, inverse(slot_cdf, rng.random(n))]
            jumps = rng.random(n) < jump
            state[jumps] = inverse(zipf_cdf, rng.random(int(jumps.sum())))
        return out.astype(np.float64)

    return draw


def grammar() -> Callable[[int, np.random.Generator], np.ndarray]:
    """The lab's ``data.kind: grammar`` source at V = 2000, seq_len 64 (its other keys default)."""
    from autophagy._validation import validate
    from autophagy.registry import get

    entry = get("data", "grammar")
    source = entry.build(
        validate(entry.config, {"kind": "grammar", "vocab_size": VOCAB, "seq_len": SEQ_LEN}, "data")
    )
    return lambda n, rng: source.sample(n, rng=rng)


def real_sequences(kind: str) -> Callable[[int, np.random.Generator], np.ndarray]:
    """``draw(n, rng) -> (n, SEQ_LEN)`` float64 token ids of the real distribution ``kind``."""
    return grammar() if kind == "grammar" else zipf_chain()


def chain(
    draw: Callable[[int, np.random.Generator], np.ndarray], bias: float, seed: int
) -> dict[str, list[float]]:
    """One fully synthetic run: per generation fit / sample / scoring seconds and held-out perplexity."""
    rng = np.random.default_rng(seed)
    data, heldout = draw(N_SEQ, rng), draw(N_HELDOUT, rng)
    record: dict[str, list[float]] = {"fit": [], "sample": [], "score": [], "perplexity": []}
    for _ in range(GENERATIONS):
        start = time.perf_counter()
        model = NGramLM(VOCAB, SEQ_LEN, order=ORDER).fit(data, rng=rng)
        fitted = time.perf_counter()
        data = model.sample(N_SEQ, rng=rng, bias=bias)
        sampled = time.perf_counter()
        nll = -model.log_prob(heldout).sum() / heldout.size
        record["fit"].append(fitted - start)
        record["sample"].append(sampled - fitted)
        record["score"].append(time.perf_counter() - sampled)
        record["perplexity"].append(float(np.exp(nll)))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--bias", type=float, default=1.0, help="sampling temperature λ in (0, 1]")
    parser.add_argument("--data", choices=["synthetic", "grammar"], default="synthetic")
    args = parser.parse_args()
    draw = real_sequences(args.data)
    warm = draw(100, np.random.default_rng(SEED))  # warm-up: first-call costs are not the model's
    NGramLM(VOCAB, SEQ_LEN, order=ORDER).fit(warm, rng=np.random.default_rng(0)).sample(
        100, rng=np.random.default_rng(0)
    )
    runs = [chain(draw, args.bias, SEED) for _ in range(args.reps)]
    med = {
        key: [statistics.median(r[key][g] for r in runs) for g in range(GENERATIONS)]
        for key in runs[0]
    }
    tokens = N_SEQ * SEQ_LEN
    print(
        f"ngram order {ORDER}, V={VOCAB}, seq_len {SEQ_LEN}, {tokens:,} tokens per generation, "
        f"data {args.data}, λ={args.bias}, {GENERATIONS} generations fully synthetic, median of {args.reps}"
    )
    print(
        f"  {'gen':>3s} {'fit tok/s':>12s} {'sample tok/s':>13s} {'fit s':>7s} {'sample s':>9s} {'held-out ppl':>13s}"
    )
    for g in range(GENERATIONS):
        print(
            f"  {g:3d} {tokens / med['fit'][g]:12,.0f} {tokens / med['sample'][g]:13,.0f} "
            f"{med['fit'][g]:7.3f} {med['sample'][g]:9.3f} {med['perplexity'][g]:13.2f}"
        )
    totals = [sum(r["fit"]) + sum(r["sample"]) for r in runs]
    total = statistics.median(totals)
    print(
        f"  fit tokens/s (median over generations):    {tokens / statistics.median(med['fit']):,.0f}"
    )
    print(
        f"  sample tokens/s (median over generations): {tokens / statistics.median(med['sample']):,.0f}"
    )
    print(
        f"  total fit + sample, {GENERATIONS} generations: {total:.2f} s (runs: {[round(t, 2) for t in totals]}); "
        f"held-out scoring apart: {statistics.median(sum(r['score']) for r in runs):.2f} s"
    )
    print(
        f"  target <= {TARGET_S:.0f} s: ratio target / measured = {TARGET_S / total:.2f}x -> "
        f"{'met' if total <= TARGET_S else 'NOT met'}"
    )
    ppl = med["perplexity"]
    print(
        f"  held-out perplexity generation 0 -> {GENERATIONS - 1}: {ppl[0]:.2f} -> {ppl[-1]:.2f} "
        f"({'rises' if ppl[-1] > ppl[0] else 'does NOT rise'}; increasing at {sum(b > a for a, b in itertools.pairwise(ppl))} "
        f"of {GENERATIONS - 1} steps)"
    )


if __name__ == "__main__":
    main()
