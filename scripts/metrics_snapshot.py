"""Snapshot the metrics of the bundled demo and three examples, or compare two snapshots.

Every refactor must keep the same metrics for the same seed. Take a snapshot before and after
(each tree on PYTHONPATH in turn) and compare them value for value:

    git worktree add /tmp/before <old-commit>
    PYTHONPATH=/tmp/before/src python scripts/metrics_snapshot.py take /tmp/snap-before
    python scripts/metrics_snapshot.py take /tmp/snap-after
    python scripts/metrics_snapshot.py compare /tmp/snap-before /tmp/snap-after

The snapshot: the demo (60 runs: 3 loops x 2 biases x 2 datasets x 5 seeds), the GMM augment/fresh
example, the regression chain, and the n-gram Shumailov example reduced to 3 generations of
2,000 sequences, all in memory (nothing written but ``OUT/metrics.parquet``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).parents[1]
EXAMPLES = {
    "examples/augment_vs_fresh_gmm.yaml": {},
    "examples/regression_chain.yaml": {},
    "examples/shumailov_ngram_grammar.yaml": {"generations": 3, "loop": {"kind": "keep_original", "n_real": 2000, "keep": 0.1}},
}


def take(out: Path) -> None:
    import pandas as pd
    import yaml

    import autophagy
    from autophagy.demo import demo_configs

    frames = []
    for i, config in enumerate(demo_configs()):
        frames.append(autophagy.run(config, out=None).metrics.assign(config=f"demo{i}"))
    for path, changes in EXAMPLES.items():
        raw = yaml.safe_load((ROOT / path).read_text())
        raw.pop("sweep", None)
        raw.update(changes)
        frames.append(autophagy.run(raw, out=None).metrics.assign(config=path))
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.concat(frames, ignore_index=True).drop(columns=["run"])
    frame.to_parquet(out / "metrics.parquet")
    print(f"{len(frame)} rows -> {out / 'metrics.parquet'}")


def compare(a: Path, b: Path) -> int:
    import pandas as pd

    left, right = pd.read_parquet(a / "metrics.parquet"), pd.read_parquet(b / "metrics.parquet")
    keys = ["config", "seed", "generation", "metric"]
    both = left.merge(right, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    same = (both["value_a"] == both["value_b"]) | (both["value_a"].isna() & both["value_b"].isna())
    print(f"{len(left)} vs {len(right)} rows; matched {int((both['_merge'] == 'both').sum())}; identical values {int(same.sum())}")
    for config, part in both[~same].groupby("config"):
        print(f"  {config}: {len(part)} rows differ")
    return 0 if bool(same.all()) else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "take":
        take(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        raise SystemExit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        raise SystemExit(__doc__)
