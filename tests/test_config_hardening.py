"""Hostile or careless configs (issue 14) are refused at load with one sentence naming the key,
the value (shortened) and what is allowed: duplicate YAML keys, alias bombs, 10^9 generations,
sizes and seeds beyond int64, NaN, duplicate metrics, bools for numbers, keys in both sweep
axes, files that are not UTF-8, over-long names."""

import re
import time

import pytest
import yaml

import autophagy
from autophagy._validation import MAX_SHOWN, load_yaml_text, short
from autophagy.config import load_config, load_yaml
from autophagy.exceptions import InvalidParameterError
from autophagy.runner.sweep import expand

from .conftest import small_config


def refused(match, raw=None, **changes):
    """Load ``raw`` (default: the small config with ``changes``): it is refused, in one line."""
    with pytest.raises(InvalidParameterError, match=match) as info:
        load_config(raw if raw is not None else small_config(**changes))
    message = str(info.value)
    assert "\n" not in message and len(message) < 600, message
    return message


def write(tmp_path, text, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- 1. duplicate keys -------------------------------------------------------------------------


def test_a_key_given_twice_is_refused_with_its_lines(tmp_path):
    path = write(tmp_path, yaml.safe_dump(small_config()) + "generations: 9\n")
    first = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("generations:"))
    last = len(path.read_text().splitlines())
    with pytest.raises(InvalidParameterError, match=rf"exp\.yaml' gives the key 'generations' twice \(lines {first} and {last}\)"):
        load_yaml(path)


def test_a_nested_or_flow_duplicate_is_refused_and_merge_keys_still_work(tmp_path):
    with pytest.raises(InvalidParameterError, match=r"gives the key 'dim' twice \(lines 2 and 3\)"):
        load_yaml(write(tmp_path, "data:\n  dim: 3\n  dim: 4\n"))
    with pytest.raises(InvalidParameterError, match=r"gives the key 'kind' twice \(line 1\)"):
        load_yaml(write(tmp_path, "loop: {kind: fresh, kind: augment}\n"))
    merged = load_yaml(write(tmp_path, "base: &b {n_real: 10, n_synthetic: 5}\nloop:\n  <<: *b\n  n_real: 20\n"))
    assert merged["loop"] == {"n_real": 20, "n_synthetic": 5}  # an explicit key overrides a merged one


def test_loading_stays_fast_with_the_checks():
    # a 200 x 200 explicit covariance: 40,000 values through the checking loader
    text = yaml.safe_dump({"data": {"kind": "gaussian", "dim": 200, "cov": [[float(i == j) for j in range(200)] for i in range(200)]}})
    started = time.perf_counter()
    loaded = load_yaml_text(text, "Config file 'big.yaml'")
    assert time.perf_counter() - started < 5.0  # libyaml's parser: about 0.3 s here (PyYAML's pure-Python one: 1.5 s)
    assert loaded["data"]["cov"][3][3] == 1.0


# -- 2. alias bombs and long values ------------------------------------------------------------


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("generations: *i")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_in_one_short_line_quickly(tmp_path):
    path = write(tmp_path, billion_laughs())
    assert path.stat().st_size < 2000  # expands to 9**9 = 387 million strings
    started = time.perf_counter()
    with pytest.raises(InvalidParameterError, match=r"expands its aliases .* alias bomb") as info:
        load_yaml(path)
    assert time.perf_counter() - started < 2.0
    assert len(str(info.value)) < 300 and "\n" not in str(info.value)


def test_recursive_aliases_and_deep_nesting_are_refused():
    with pytest.raises(InvalidParameterError, match="recursive"):
        load_yaml_text("a: &a [1, *a]\n", "Config file 'x.yaml'")
    with pytest.raises(InvalidParameterError, match="nests more than"):
        load_yaml_text("a: " + "[" * 200 + "]" * 200 + "\n", "Config file 'x.yaml'")


def test_a_few_aliases_are_still_fine():
    loaded = load_yaml_text("n: &n 40\nloop: {kind: fresh, n_real: *n, n_synthetic: *n}\n", "x")
    assert loaded["loop"]["n_synthetic"] == 40


def test_every_message_shortens_the_value():
    message = refused(r"'generations' parameter must be a valid integer", generations=list(range(100_000)))
    assert len(message) < 300
    message = refused(r"'name' parameter must be text", name="x" * 10_000)
    assert len(message) < 300 and "..." in message
    assert len(short({"k": ["v" * 1000] * 1000})) <= MAX_SHOWN
    assert short([0.0, 1.0]) == "[0.0, 1.0]" and short({"b": 1, "a": 2}) == "{'b': 1, 'a': 2}"  # small values as repr
    assert "digits" in short(10**5000)  # no str() of a 5000-digit int


# -- 3. a billion generations ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fresh", "augment", "fully_synthetic", "accumulate", "accumulate_subsample", "keep_original"])
def test_validation_does_not_walk_the_generations(kind):
    started = time.perf_counter()
    config = load_config(small_config(generations=10**9, **{"loop.kind": kind}), max_memory="1000P")
    assert config.generations == 10**9
    assert time.perf_counter() - started < 2.0


def test_a_billion_generations_are_refused_for_their_metrics_table():
    refused(r"needs about .*\(generations = 1000000000: a metrics table of 1,000,000,000 generations", generations=10**9)


# -- 4. sizes and seeds beyond int64 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("repeats", 10**12, r"\(repeats = 1000000000000: "),
        ("eval.n_samples", 10**12, r"\(eval.n_samples = 1000000000000: "),
        ("data.dim", 10**7, r"\(data.dim = 10000000: "),
        ("loop.n_real", 10**13, r"\(loop.n_real = 10000000000000: "),
        ("loop.n_synthetic", 10**13, r"\(loop.n_synthetic = 10000000000000: "),
        ("loop.n_real", 10**30, r"'loop.n_real' parameter must be a whole number below 2\*\*63"),
        ("generations", 2**64, r"'generations' parameter must be a whole number below 2\*\*63"),
    ],
)
def test_huge_sizes_are_refused_at_load_before_any_directory(tmp_path, key, value, match):
    changes = {key: value, "engine": "sampled"}
    refused(match, **changes)
    out = tmp_path / "runs"
    with pytest.raises(InvalidParameterError):
        autophagy.run(small_config(**changes), out=out)
    assert not out.exists()


def test_seeds_must_fit_int64_with_every_repeat():
    refused(r"'seed' parameter must be a whole number below 2\*\*63", seed=2**63)
    refused(r"'seed' parameter must be an int >= 0 with seed \+ repeats <= 2\*\*63 - 1 .*Got 9223372036854775806", seed=2**63 - 2)
    refused(r"seed \+ repeats \+ sweep.seeds <= 2\*\*63 - 1", seed=2**63 - 10, sweep={"seeds": 20})
    assert load_config(small_config(seed=2**63 - 3)).seed == 2**63 - 3  # seeds s and s + 1: both int64
    refused(r"'seed' parameter must be greater than or equal to 0", seed=-1)


def test_a_sweep_of_too_many_runs_is_refused_before_expansion():
    refused(r"'sweep' parameter must be a grid of at most 100,000 runs .*Got '1,000,000,000 runs'", sweep={"seeds": 10**9})


# -- 6. NaN and infinities ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"data.mean": [float("nan"), 0.0, 0.0]}, "data.mean.0"),
        ({"data.cov": [[1.0, 0.0, 0.0], [0.0, float("inf"), 0.0], [0.0, 0.0, 1.0]]}, "data.cov.1.1"),
        ({"generator.bias": float("nan")}, "generator.bias"),
        ({"generator.bias": "nan"}, "generator.bias"),
        ({"loop": {"kind": "keep_original", "n_real": 40, "keep": float("-inf")}}, "loop.keep"),
        ({"eval.mode_radius": float("inf")}, "eval.mode_radius"),
    ],
)
def test_non_finite_floats_are_refused(changes, key):
    refused(rf"The '{re.escape(key)}' parameter must be a finite number \(not NaN or infinite\)", **changes)


def test_nan_from_yaml_and_in_a_sweep_is_refused(tmp_path):
    raw = small_config()
    text = yaml.safe_dump(raw).replace("bias: 0.8", "bias: .nan")
    with pytest.raises(InvalidParameterError, match=r"'generator.bias' parameter must be a finite number"):
        load_config(write(tmp_path, text))
    raw["sweep"] = {"grid": {"generator.bias": [0.5, float("nan")]}}
    started = time.perf_counter()
    with pytest.raises(InvalidParameterError, match=r"'sweep.grid.generator.bias.1' parameter must be a finite number"):
        expand(raw)
    assert time.perf_counter() - started < 5.0


# -- 7-9, 12. duplicates, bools, sweep axes, names ---------------------------------------------


def test_a_metric_named_twice_is_refused():
    refused(r"The 'metrics' parameter must name each metric once\. Got \['cov_trace', 'loglik_real', 'cov_trace'\] instead \('cov_trace' twice\)\.",
            metrics=["cov_trace", "loglik_real", "cov_trace"])


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [("generations", True, "a whole number"), ("repeats", True, "a whole number"), ("eval.n_samples", True, "a whole number"),
     ("generator.bias", True, "a number"), ("loop.n_real", True, "a whole number")],
)
def test_a_bool_is_not_a_number(key, value, kind):
    refused(rf"The '{re.escape(key)}' parameter must be {kind}, not true or false\. Got True instead\.", **{key: value})


def test_bools_where_bools_belong_still_load():
    assert load_config(small_config(**{"generator.shrinkage": True})).generator.shrinkage is True


def test_a_key_in_both_sweep_axes_is_refused():
    sweep = {"grid": {"generator.bias": [1.0, 0.5]}, "zip": {"generator.bias": [1.0, 0.5], "loop.n_real": [40, 50]}}
    refused(r"The 'sweep.zip' parameter must vary keys sweep.grid does not\. Got 'generator.bias' in both instead\.", sweep=sweep)


def test_a_name_longer_than_a_directory_name_is_refused():
    assert load_config(small_config(name="n" * 255)).name == "n" * 255
    refused(r"The 'name' parameter must be text of at most 255 characters\. Got 'nnn.*\.\.\..*nnn' instead\.", name="n" * 256)


# -- 10. encodings -----------------------------------------------------------------------------


def test_a_file_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InvalidParameterError, match=r"Config file '.*latin1\.yaml' is not UTF-8 text \(byte 0xe9 at offset 9\)"):
        load_config(path)


# -- 14. sentences -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "a b"}, "The 'name' parameter must be text matching the pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'. Got 'a b' instead."),
        ({"generations": "ten"}, "The 'generations' parameter must be a valid integer (a whole number). Got 'ten' instead."),
        ({"generator.shrinkage": "maybe"}, "The 'generator.shrinkage' parameter must be true or false. Got 'maybe' instead."),
        ({"generator.bias": "high"}, "The 'generator.bias' parameter must be a valid number. Got 'high' instead."),
        ({"name": 5}, "The 'name' parameter must be text (a string). Got 5 instead."),
        ({"eval": [1]}, "The 'eval' parameter must be a mapping of keys to values. Got [1] instead."),
        ({"data.cov": "bad"}, "The 'data.cov' parameter must be 'identity', a mapping of keys to values or a valid list. Got 'bad' instead."),
    ],
)
def test_messages_read_as_sentences(changes, expected):
    message = refused(re.escape(expected), **changes)
    assert " should " not in message and "Input" not in message
