"""Every example runs, reduced with --set as a user would shorten it (CI runs them all)."""

from __future__ import annotations

from pathlib import Path

import pytest

import autophagy
from autophagy.cli import main

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.yaml"))
#: Every example: two generations, one seed.
REDUCED = ["generations=2", "repeats=1", "sweep.seeds=1"]
#: What makes an example slow, shortened further (sizes, training steps).
FURTHER = {
    "shumailov_ngram_grammar": ["loop.n_real=2000", "eval.n_samples=200"],
    "shumailov_transformer_grammar": ["loop.n_real=200", "generator.steps=20", "eval.n_samples=100"],
    "mitigations_digits": ["generator.steps=200", "eval.n_samples=200"],
}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_reduced(path, tmp_path):
    overrides = [*REDUCED, *FURTHER.get(path.stem, [])]
    args = ["sweep", str(path), "--out", str(tmp_path), "--backend", "local"]
    for item in overrides:
        args += ["--set", item]
    assert main(args) == 0
    catalog = autophagy.catalog(tmp_path)
    assert len(catalog) and set(catalog["status"]) == {"complete"}
    assert (catalog["generations_done"] == 2).all()
