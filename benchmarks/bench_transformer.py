"""Benchmark: the tiny transformer LM in the Shumailov loop, 5 generations on the known grammar.

One run of ``examples/shumailov_transformer_grammar.yaml`` (the ``keep: 0`` point: fully
synthetic after generation 1), in memory, with the wall time split into ``train``
(``TransformerLM.fit``), ``sample`` (``TransformerLM.sample``: the next training set and the
``eval.n_samples`` sequences the metrics score) and ``metrics``, measured by wrapping those calls
(``time.perf_counter``). Prints tokens/s for training (steps × batch × (seq_len + 1)) and for
generation, and the held-out perplexity per generation. Target (the issue's): 5 generations in
under 10 minutes on this CPU. On a machine with CUDA, ``--device cuda --n-layer 6 --n-embd 384``
runs a larger model and names the GPU.

    .venv/bin/python benchmarks/bench_transformer.py [--generations 5] [--device cuda --n-layer 6 --n-embd 384]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy/torch load: one thread per process

import argparse  # noqa: E402
import collections  # noqa: E402
import functools  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import autophagy  # noqa: E402
from autophagy.config import load_yaml  # noqa: E402
from autophagy.runner import sampled as engines  # noqa: E402  (the sampled engine calls evaluate)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shumailov_transformer_grammar.yaml"
TARGET_SECONDS = 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    parser.add_argument("--n-layer", type=int, default=None)
    parser.add_argument("--n-embd", type=int, default=None)
    args = parser.parse_args()
    raw = load_yaml(EXAMPLE)
    raw.pop("sweep")
    raw["generations"] = args.generations
    raw["generator"] = {**raw["generator"], "device": args.device}
    if args.n_layer:
        raw["generator"]["n_layer"] = args.n_layer
    if args.n_embd:
        raw["generator"]["n_embd"] = args.n_embd
    config = autophagy.load_config(raw)

    from autophagy.neural._torch import require_torch, resolve_device
    from autophagy.text.transformer_model import TransformerLM

    device = resolve_device(config.generator.device)
    torch = require_torch()
    name = f"cuda ({torch.cuda.get_device_name(0)})" if device == "cuda" else f"cpu ({torch.get_num_threads()} torch thread)"
    seconds: dict[str, float] = collections.defaultdict(float)
    sampled = [0]

    def timed(label, fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def wrapper(*a, **k):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                seconds[label] += time.perf_counter() - start
                if label == "sample":
                    sampled[0] += a[1] if len(a) > 1 else k["n"]

        return wrapper

    originals = (TransformerLM.fit, TransformerLM.sample, engines.evaluate)
    TransformerLM.fit, TransformerLM.sample = timed("train", TransformerLM.fit), timed("sample", TransformerLM.sample)
    engines.evaluate = timed("metrics", engines.evaluate)
    try:
        start = time.perf_counter()
        result = autophagy.run(config, out=None)
        total = time.perf_counter() - start
    finally:
        TransformerLM.fit, TransformerLM.sample, engines.evaluate = originals
    gen, seq_len = config.generator, config.data.seq_len  # type: ignore[attr-defined]
    train_tokens = gen.steps * gen.batch_size * (seq_len + 1) * config.generations  # type: ignore[attr-defined]
    print(f"transformer on {name}: {config.generations} generations, {gen.n_layer} layers x {gen.n_embd}, "  # type: ignore[attr-defined]
          f"{gen.steps} steps x {gen.batch_size} sequences per generation")  # type: ignore[attr-defined]
    print(f"  total {total:.1f} s [target < {TARGET_SECONDS:.0f} s: {'met' if total < TARGET_SECONDS else 'NOT met'}; ratio target/total = {TARGET_SECONDS / total:.2f}]")
    for label in ("train", "sample", "metrics"):
        print(f"  {label:8s} {seconds[label]:7.1f} s  ({100 * seconds[label] / total:4.1f} %)")
    print(f"  training {train_tokens / seconds['train']:,.0f} tokens/s   generation {sampled[0] * seq_len / seconds['sample']:,.0f} tokens/s")
    wide = result.wide()
    print("  perplexity_real per generation: " + " ".join(f"{v:.2f}" for v in wide["perplexity_real"].to_numpy()))


if __name__ == "__main__":
    main()
