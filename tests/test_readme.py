"""The README's own code runs: the "Bring your own model" block, as a user would paste it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

import autophagy
from autophagy.plugins import unregister

ROOT = Path(__file__).parents[1]


def _python_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_bring_your_own_model_block_runs(tmp_path, monkeypatch, capsys):
    (tmp_path / "examples" / "plugins").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "plugins" / "wine.csv", tmp_path / "examples" / "plugins" / "wine.csv")
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(_python_block("## Bring your own model"), "README.md", "exec"), {"__name__": "readme"})
    finally:
        unregister("generator", "my_bgm")
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == ["fully_synthetic", "fresh"]
    assert (tmp_path / "runs" / "report" / "wine-bgm" / "index.html").is_file()
    catalog = autophagy.catalog(tmp_path / "runs")
    final = catalog.set_index("loop.kind")["final.frechet"]
    # the article's picture on the user's own data: without fresh real rows the loop drifts away
    assert final["fully_synthetic"] > final["fresh"]
    metrics = autophagy.load_metrics(tmp_path / "runs")
    assert isinstance(metrics, pd.DataFrame) and metrics["generation"].max() == 10


def test_monitor_block_runs_and_warns(tmp_path, monkeypatch, capsys):
    import pytest

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme"}
    with pytest.warns(autophagy.CollapseWarning):
        exec(compile(_python_block("## Monitor your own training"), "README.md", "exec"), namespace)
    drifting = namespace["monitor"].drifting
    assert "frechet" in drifting and min(drifting.values()) <= 6  # flagged within a few epochs, as the README says
    assert len(autophagy.load_metrics(tmp_path / "runs")["generation"].unique()) == 20
