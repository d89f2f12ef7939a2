"""The peak-memory estimate (issue 14): a config the machine cannot hold is refused when it is
loaded, before anything is allocated, naming the key that drives the estimate; the bundled
examples fit in 4 GiB; the estimate stays above what a run really allocates; training-set sizes
come in constant time and agree with the loop's own list."""

import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autophagy
from autophagy.config import load_config, memory_estimate
from autophagy.core.memory import (
    ENV,
    PLANNED,
    available_memory,
    format_bytes,
    memory_budget,
    parse_size,
    resolve_limit,
    train_sizes,
)
from autophagy.demo import FAMILY_FILES, demo_configs
from autophagy.exceptions import InvalidParameterError
from autophagy.loops.policy import (
    AccumulateConfig,
    AccumulateSubsampleConfig,
    AugmentConfig,
    FreshConfig,
    FullySyntheticConfig,
    KeepOriginalConfig,
    MixedConfig,
    Plan,
)
from autophagy.runner.sweep import expand

from .conftest import small_config

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


# -- the refusal -------------------------------------------------------------------------------


def test_a_hundred_thousand_dimensions_are_refused_quickly_before_any_allocation(tmp_path):
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(InvalidParameterError) as info:
        load_config({"data": {"kind": "gaussian", "dim": 100_000}, "generator": {"kind": "gaussian"}, "loop": {"kind": "fresh", "n_real": 200_000}})
    elapsed, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    message = str(info.value)
    assert message.startswith("The config needs about ") and "\n" not in message
    assert "(data.dim = 100000: covariance matrices of 100000² floats per repeat), more than the " in message
    assert "lower data.dim or pass --max-memory" in message
    assert elapsed < 2.0 and peak < 50 * 2**20  # nothing of the d² floats was allocated


def test_the_key_named_is_the_one_that_drives_the_estimate():
    def main_key(**changes):
        with pytest.raises(InvalidParameterError) as info:
            load_config(small_config(**changes), max_memory="1G")
        return str(info.value).split("(", 1)[1].split(" = ")[0]

    assert main_key(**{"data.dim": 3000, "loop.n_real": 4000, "loop.n_synthetic": 4000, "loop.synthetic_from": "all", "generations": 100}) == "loop.synthetic_from"
    assert main_key(**{"loop.kind": "accumulate", "engine": "sampled", "generations": 10**5, "data.dim": 50}) == "generations"
    assert main_key(repeats=10**7) == "repeats"
    assert main_key(**{"eval.n_samples": 10**8}) == "eval.n_samples"
    assert main_key(**{"engine": "sampled", "loop.n_real": 10**9, "loop.n_synthetic": 10}) == "loop.n_real"
    assert main_key(**{"data.dim": 20_000}) == "data.dim"


def test_the_limit_comes_from_the_argument_the_budget_the_environment_or_the_machine(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    free, named = resolve_limit()
    assert free == available_memory() or free is None
    assert named.endswith("available")
    monkeypatch.setenv(ENV, "2G")
    assert resolve_limit() == (2 * 2**30, f"the {ENV} of 2 GiB")
    with memory_budget("512M"):
        assert resolve_limit() == (512 * 2**20, "the --max-memory of 512 MiB")
        assert resolve_limit(1000)[0] == 1000
    assert resolve_limit()[0] == 2 * 2**30


def test_the_environment_limit_refuses_in_autophagy_run_before_any_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "10K")
    out = tmp_path / "runs"
    with pytest.raises(InvalidParameterError, match=rf"more than the {ENV} of 10 KiB"):
        autophagy.run(small_config(), out=out)
    assert not out.exists()
    monkeypatch.delenv(ENV)
    assert autophagy.run(small_config(generations=1), out=None).metrics is not None


def test_a_sweep_checks_every_expanded_config():
    raw = small_config()
    raw["sweep"] = {"grid": {"data.dim": [3, 4000]}}
    with memory_budget("2G"), pytest.raises(InvalidParameterError, match=r"data.dim = 4000: covariance matrices"):
        expand(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8G", 8 * 2**30), ("512M", 512 * 2**20), ("1.5GiB", 3 * 2**29), ("100kb", 102_400), ("1000", 1000), (" 2 T ", 2 * 2**40), (4096, 4096)],
)
def test_sizes_are_read_in_powers_of_1024(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["abc", "8X", "-1G", "0", "", "1e3", True, float("nan")])
def test_bad_sizes_name_the_option(text):
    with pytest.raises(InvalidParameterError, match=r"The '--max-memory' parameter must be a memory size such as 8G, 512M or a number of bytes"):
        parse_size(text, "--max-memory")


def test_format_bytes():
    assert format_bytes(0) == "0 bytes" and format_bytes(1536) == "1.5 KiB" and format_bytes(74.5 * 2**30) == "74.5 GiB"
    assert format_bytes(10**400).endswith("EiB")  # beyond any float


# -- the bundled configs fit in 4 GiB ----------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_loads_within_4_gib(path):
    with memory_budget("4G"):
        configs = expand(path)
    assert load_config(configs[0].to_dict(), max_memory="4G") == configs[0]


@pytest.mark.parametrize("family", [None, *FAMILY_FILES])
def test_every_demo_loads_within_4_gib(family):
    with memory_budget("4G"):
        assert demo_configs(2, family)


# -- conservative, not absurd ------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"engine": "sampled"},
        {"engine": "exact"},
        {"engine": "sampled", "loop.kind": "accumulate"},
        {"engine": "sampled", "metrics": ["mmd", "precision", "recall"], "data.dim": 10},
        {"generator": {"kind": "kde"}, "loop.kind": "accumulate", "loop.synthetic_from": "all"},
    ],
)
def test_the_estimate_bounds_what_a_run_allocates(changes):
    config = load_config(small_config(**{
        "data.dim": 100, "loop.n_real": 500, "loop.n_synthetic": 500, "repeats": 3, "generations": 3,
        "metrics": ["cov_trace", "frechet", "loglik_real"], "eval.n_samples": 1000, **changes,
    }))  # fmt: skip
    assert_bounds_the_peak(config)


def assert_bounds_the_peak(config):
    """The estimate is at least the peak a run allocates (tracemalloc) and at most 10 times it."""
    autophagy.run(config, out=None)  # imports, caches and lazy tables first
    tracemalloc.start()
    autophagy.run(config, out=None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    found = memory_estimate(config)
    assert found is not None
    assert peak <= found.total <= 10 * peak, (format_bytes(peak), format_bytes(found.total))


# -- training-set sizes in constant time -------------------------------------------------------

sizes = st.integers(min_value=0, max_value=60)
positive = st.integers(min_value=1, max_value=60)
LOOPS = st.one_of(
    st.builds(FullySyntheticConfig, n_real=positive, n_synthetic=positive),
    st.builds(AugmentConfig, n_real=positive, n_synthetic=sizes),
    st.builds(FreshConfig, n_real=positive, n_synthetic=sizes),
    st.builds(AccumulateConfig, n_real=positive, n_synthetic=sizes, n_fresh=sizes),
    st.builds(AccumulateSubsampleConfig, n_real=positive, n_synthetic=sizes, n_fresh=sizes, train_size=positive),
    st.builds(KeepOriginalConfig, n_real=positive, keep=st.sampled_from([0.0, 0.1, 0.5, 1.0]), n_synthetic=sizes),
    st.builds(MixedConfig, n_fixed=positive, n_fresh=sizes, n_synthetic=sizes),
)


@settings(max_examples=150, deadline=None)
@given(loop=LOOPS, generations=st.integers(min_value=1, max_value=25))
def test_train_sizes_agree_with_the_loops_own_list(loop, generations):
    listed = loop.train_sizes(generations)
    found = train_sizes(loop, generations)
    assert found.smallest == min(listed) and found.smallest_at == listed.index(min(listed)) + 1
    assert found.largest == max(listed)
    plans = [loop.plan(t) for t in range(1, generations + 1)]
    pool = sum(p.n_fresh + p.n_synthetic + (p.n_fixed if t == 1 else 0) for t, p in enumerate(plans, 1))
    assert found.pool == (pool if plans[0].accumulate else 0)
    assert found.fixed == plans[0].n_fixed


def test_train_sizes_take_constant_time():
    started = time.perf_counter()
    found = train_sizes(AccumulateConfig(n_real=10, n_synthetic=5), 10**12)
    assert time.perf_counter() - started < 0.01
    assert found.pool == 10 + (10**12 - 1) * 5 and found.smallest == 10


class _Growing(FreshConfig):
    """A plug-in loop whose training set changes every generation."""

    def plan(self, generation: int) -> Plan:
        return Plan(0, False, self.n_real + generation % 7, 0 if generation == 1 else self.n_synthetic)


def test_a_plugin_loops_plans_are_composed_one_by_one():
    loop = _Growing(n_real=10, n_synthetic=3)
    listed = loop.train_sizes(50)
    found = train_sizes(loop, 50)
    assert (found.smallest, found.smallest_at, found.largest) == (min(listed), listed.index(min(listed)) + 1, max(listed))
    assert train_sizes(loop, 10**9).largest == max(loop.train_sizes(PLANNED))


# -- webs --------------------------------------------------------------------------------------

WEB = {
    "name": "web-memory", "generations": 3, "data": {"kind": "gaussian", "dim": 20}, "eval": {"n_samples": 300},
    "web": {
        "lineages": [{"generator": {"kind": "gaussian"}, "count": 50, "n_train": 200, "publish": 100}],
        "pool": {"size": 20_000, "human_per_generation": 2_000, "eviction": "fifo"},
    },
}


@pytest.mark.parametrize("changes", [[], ["metrics=[frechet, cov_trace]"], ["web.pool.eviction=none", "generations=6"]])
def test_a_webs_estimate_bounds_what_it_allocates(changes):
    config = load_config(WEB, changes)
    assert_bounds_the_peak(config)


def test_a_web_too_large_for_memory_names_its_pool_or_its_lineages():
    for change, key in (("web.pool.size=100000000", "web.pool.size"), ("web.lineages.0.count=1000000", "web.lineages")):
        with pytest.raises(InvalidParameterError, match=rf"^The config needs about .*; lower {key} or pass --max-memory"):
            load_config(WEB, [change], max_memory="1G")
