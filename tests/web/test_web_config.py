"""``web:``: the schema, the pool maths (schedules, eviction, draws), refusals at load in one line."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

import autophagy
from autophagy.cli import main
from autophagy.config import exact_unavailable
from autophagy.exceptions import InvalidParameterError
from autophagy.loops.web import DrawConfig, Schedule, WebPool, draw_rows, evict

BASE = {
    "name": "web",
    "generations": 5,
    "data": {"kind": "gaussian", "dim": 8},
    "metrics": ["gaussian_w2", "cov_trace"],
    "web": {
        "lineages": [{"generator": {"kind": "gaussian"}, "count": 10, "n_train": 100, "publish": 100}],
        "pool": {"size": 5000, "human_per_generation": {"kind": "linear", "from": 1000, "to": 0}},
    },
}


def web(change=None):
    config = copy.deepcopy(BASE)
    if change is not None:
        change(config["web"])
    return config


def test_a_web_config_resolves_with_the_loop_keys_filled_in_and_round_trips():
    config = autophagy.load_config(web())
    assert config.engine == "exact" and config.web.n_lineages == 10 and config.generator.kind == "gaussian"
    dumped = config.to_dict()
    assert dumped["web"]["pool"]["human_per_generation"] == {"kind": "linear", "from": 1000.0, "to": 0.0}
    again = autophagy.load_config(yaml.safe_load(yaml.safe_dump(dumped)))
    assert again.run_id() == config.run_id()
    plain = {k: v for k, v in web().items() if k != "web"}
    plain.update(generator={"kind": "gaussian"}, loop={"kind": "fresh"})
    assert "web" not in autophagy.load_config(plain).to_dict()  # ordinary configs keep their run ids


def test_mixed_families_and_stages_run_on_the_sampled_engine():
    mixed = web(lambda w: w["lineages"].append({"generator": {"kind": "gmm"}, "count": 2, "n_train": 100, "publish": 10}))
    with pytest.raises(InvalidParameterError, match=r"^The 'metrics' parameter must be free of 'gaussian_w2' .* instead \(for the lineages of web\.lineages\.1\)\.$"):
        autophagy.load_config(mixed)
    config = autophagy.load_config({**mixed, "metrics": ["frechet", "recall"]})
    assert config.engine == "sampled" and "gmm" in exact_unavailable(config)
    assert list(config.web.group_of()) == [0] * 10 + [1] * 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.update(lineages=[]), r"^The 'web\.lineages' parameter must be a non-empty list of lineage groups"),
        (lambda w: w["lineages"][0].update(n_train=6000), r"^The 'web\.lineages\.0\.n_train' parameter must be <= pool\.size = 5000 .*Got 6000 instead\.$"),
        (lambda w: w["pool"].update(human_per_generation={"kind": "linear", "from": 9000, "to": 0}), r"^The 'web\.pool\.human_per_generation\.from' parameter must be in \[0, pool\.size = 5000\]\. Got 9000\.0 instead\.$"),
        (lambda w: w["pool"].update(human_per_generation=-5), r"^The 'web\.pool\.human_per_generation' parameter must be"),
        (lambda w: w["pool"].update(eviction="lifo"), r"^The 'web\.pool\.eviction' parameter must be 'fifo', 'uniform' or 'none'\. Got 'lifo' instead\.$"),
        (lambda w: w["lineages"][0].update(n_train=5), r"^The 'web\.lineages\.0\.n_train' parameter must be a mix with at least dim \+ 1 = 9"),
        (lambda w: w["lineages"][0]["generator"].update(kind="vae"), r"^The 'web\.lineages\.0\.generator\.kind' parameter must be a generator of vectors"),
        (lambda w: w.update(draw="crawl"), r"^The 'web\.draw\.kind' parameter must be 'uniform' or 'provenance_weighted'\. Got 'crawl' instead\.$"),
        (lambda w: w["pool"].update(human_per_generation={"kind": "exponential", "from": 100, "to": 0}), r"^The 'web\.pool\.human_per_generation\.from' parameter must be > 0 with to > 0"),
    ],
)
def test_bad_webs_are_refused_at_load_in_one_line(change, message):
    with pytest.raises(InvalidParameterError, match=message) as info:
        autophagy.load_config(web(change))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("change", [lambda w: w.update(lineages=[]), lambda w: w["pool"].update(eviction="lifo")])
def test_the_cli_exits_2_with_one_line(tmp_path, capsys, change):
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(web(change)), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_set_reaches_a_lineage_group_by_its_index(tmp_path, capsys):
    config = autophagy.load_config(web(), ["web.lineages.0.count=3", "web.lineages.0.generator.bias=0.5"])
    assert config.web.n_lineages == 3 and config.web.lineages[0].generator.bias == 0.5
    with pytest.raises(InvalidParameterError, match=r"^Cannot set 'web\.lineages\.1\.count': 'lineages' is a list of 1 items, so '1' must be an index 0\.\.0\.$"):
        autophagy.load_config(web(), ["web.lineages.1.count=3"])
    with pytest.raises(InvalidParameterError, match=r"^Cannot set 'web\.draw\.kind\.x': 'kind' is not a group of keys\.$"):
        autophagy.load_config(web(lambda w: w.update(draw={"kind": "uniform"})), ["web.draw.kind.x=3"])
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(web()), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--set", "web.lineages.0.n_train=6000"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: The 'web.lineages.0.n_train' parameter must be <= pool.size = 5000")


def test_schedules_go_from_start_to_end():
    linear = Schedule(kind="linear", start=1000, to=0)
    assert [linear.at(t, 5) for t in range(1, 6)] == [1000, 750, 500, 250, 0]
    expo = Schedule(kind="exponential", start=1000, to=1)
    assert [expo.at(t, 4) for t in range(1, 5)] == [1000, 100, 10, 1]
    assert linear.at(1, 1) == 1000


def pool_of(n_human, n_synthetic, d=2):
    pool = WebPool.of_human(np.zeros((n_human, d)))
    return pool.add(np.ones((n_synthetic, d)), published=1, lineage=3, depth=1.0)


def test_fifo_eviction_drops_the_oldest_and_uniform_drops_at_random():
    pool = pool_of(6, 4)
    kept = evict(pool, 5, "fifo", np.random.default_rng(0))
    assert list(kept.arrival) == [5, 6, 7, 8, 9] and kept.human_share() == 0.2
    assert len(evict(pool, 5, "uniform", np.random.default_rng(0))) == 5
    assert evict(pool, 5, "none", np.random.default_rng(0)) is pool
    assert pool.synthetic_age() == 1.0 and WebPool.from_state(pool.state()).arrival.tolist() == pool.arrival.tolist()


def test_a_provenance_weighted_draw_prefers_human_items_by_its_weight():
    """One pick among 100 human and 100 synthetic items with human weight w is human with
    probability w / (w + 1); over 4,000 single draws the share is within 4 binomial standard errors."""
    pool, rng, w = pool_of(100, 100), np.random.default_rng(1), 3.0
    human = np.array([pool.human[draw_rows(pool, 1, DrawConfig(kind="provenance_weighted", human_weight=w), rng)[0]] for _ in range(4000)])
    p = w / (w + 1)
    assert abs(human.mean() - p) < 4 * np.sqrt(p * (1 - p) / 4000)
    rows = draw_rows(pool, 150, DrawConfig(), rng)
    assert len(np.unique(rows)) == 150 and np.all(np.diff(rows) > 0)  # without replacement, sorted


def test_a_web_config_never_runs_as_a_plain_loop():
    rows = autophagy.run({**web(), "generations": 1}, out=None).metrics  # a web engine: lineage and pool rows
    assert set(rows.lineage) == {-1, *range(10)} and "pool_human_share" in set(rows.metric)
