"""A user's own vectors from a local file (``data.kind: table``): file types, columns, split,
standardize, end-to-end runs, and one-line errors at config loading."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import autophagy
from autophagy.cli import main
from autophagy.exceptions import InvalidParameterError
from autophagy.vectors.table import TableConfig, build

X = np.random.default_rng(3).normal(size=(60, 3)) * [1.0, 2.0, 0.5] + [0.0, 5.0, -1.0]


def source(**keys):
    return build(TableConfig(**keys))


def write_all(tmp_path: Path, x: np.ndarray = X) -> dict[str, Path]:
    """The same matrix as .npy, .npz, .csv (with a text column) and .parquet."""
    paths = {suffix: tmp_path / f"rows{suffix}" for suffix in (".npy", ".npz", ".csv", ".parquet")}
    np.save(paths[".npy"], x)
    np.savez(paths[".npz"], rows=x)
    frame = pd.DataFrame(x, columns=[f"c{j}" for j in range(x.shape[1])])
    frame.insert(1, "name", [f"s{i}" for i in range(len(x))])  # skipped: not numeric
    frame.to_csv(paths[".csv"], index=False, float_format="%.17g")
    frame.to_parquet(paths[".parquet"])
    return paths


def config(path: Path | str, **data) -> dict:
    return {
        "data": {"kind": "table", "path": str(path), **data},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fully_synthetic", "n_real": 50},
        "generations": 3,
        "eval": {"n_samples": 40},
    }


def test_every_file_type_loads_the_same_rows(tmp_path):
    for suffix, path in write_all(tmp_path).items():
        src = source(path=str(path))
        np.testing.assert_allclose(src.rows, X, rtol=0, atol=0 if suffix != ".csv" else 1e-15, err_msg=suffix)
        assert src.dim == 3 and src.truth() is None and not src.rows.flags.writeable
        assert src.columns == (["c0", "c1", "c2"] if suffix in (".csv", ".parquet") else ["0", "1", "2"])
        draws = src.sample(25, rng=np.random.default_rng(0))
        assert draws.shape == (25, 3) and draws.dtype == np.float64


def test_columns_choose_and_order_columns(tmp_path):
    paths = write_all(tmp_path)
    for path in (paths[".csv"], paths[".parquet"]):
        src = source(path=str(path), columns=["c2", "c0"])
        assert src.columns == ["c2", "c0"] and src.dim == 2
        np.testing.assert_allclose(src.rows, X[:, [2, 0]], atol=1e-15)
    assert source(path=str(paths[".npy"]), columns=["1"]).rows[:, 0].tolist() == X[:, 1].tolist()


def test_npz_with_several_arrays_takes_the_named_one(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=X, b=X[:10] * 0)
    np.testing.assert_array_equal(source(path=str(path), array="a").rows, X)


def test_holdout_split_sizes_disjoint_and_fixed_by_split_seed(tmp_path):
    path = write_all(tmp_path)[".npy"]
    src = source(path=str(path), holdout=0.25)
    assert len(src.test_index) == 15 and len(src.train_index) == 45
    assert not set(src.test_index) & set(src.train_index)
    assert sorted([*src.test_index, *src.train_index]) == list(range(60))
    np.testing.assert_array_equal(src.test_index, source(path=str(path), holdout=0.25).test_index)
    assert not np.array_equal(src.test_index, source(path=str(path), holdout=0.25, split_seed=1).test_index)
    train = {r.tobytes() for r in X[src.train_index]}
    held = {r.tobytes() for r in X[src.test_index]}
    assert all(r.tobytes() in train for r in src.sample(200, rng=np.random.default_rng(1)))
    few = src.holdout(15, rng=np.random.default_rng(2))  # without replacement: every held-out row once
    assert {r.tobytes() for r in few} == held
    assert all(r.tobytes() in held for r in src.holdout(100, rng=np.random.default_rng(3)))
    none = source(path=str(path), holdout=0.0)
    assert len(none.test_index) == 0 and len(none.train_index) == 60
    assert none.holdout(80, rng=np.random.default_rng(4)).shape == (80, 3)


def test_standardize_uses_the_training_rows(tmp_path):
    src = source(path=str(write_all(tmp_path)[".npy"]), standardize=True)
    train = src.rows[src.train_index]
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(src.rows * src.scale + src.mean, X, atol=1e-12)


@pytest.mark.parametrize(("loop", "generator"), [("fully_synthetic", "gaussian"), ("fresh", "gmm")])
def test_end_to_end_runs_are_finite_and_reproducible(tmp_path, loop, generator):
    raw = config(write_all(tmp_path)[".csv"])
    raw["loop"]["kind"], raw["generator"]["kind"] = loop, generator
    first, second = autophagy.run(raw, out=None), autophagy.run(raw, out=None)
    assert first.config.engine == "sampled" and "frechet" in first.config.metrics
    values = first.metrics["value"].to_numpy()
    assert len(values) and np.all(np.isfinite(values))
    pd.testing.assert_frame_equal(first.metrics, second.metrics)


def _csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _npy(path: Path, x: np.ndarray) -> Path:
    np.save(path, x)
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


MIXED = "a,name\n1,x\n2,y\n3,z\n4,w\n"
#: id -> (write the file under a folder, extra data keys, what the message must say after the file name)
BAD = {
    "missing": (lambda d: d / "missing.csv", {}, "no such file"),
    "extension": (lambda d: _csv(d / "rows.txt", "1,2\n"), {}, "ends in '.txt'"),
    "corrupt_npy": (lambda d: _bytes(d / "corrupt.npy", b"not numpy at all"), {}, "not readable"),
    "corrupt_parquet": (lambda d: _bytes(d / "corrupt.parquet", b"PAR1 broken"), {}, "not readable"),
    "empty_csv": (lambda d: _csv(d / "empty.csv", ""), {}, "not readable"),
    "text_column": (lambda d: _csv(d / "mixed.csv", MIXED), {"columns": ["a", "name"]}, "column 'name' is not numeric"),
    "no_numeric": (lambda d: _csv(d / "words.csv", "name\nx\ny\n"), {}, "no numeric column"),
    "text_npy": (lambda d: _npy(d / "text.npy", np.array([["a", "b"], ["c", "d"]])), {}, "dtype <U1"),
    "nan": (lambda d: _csv(d / "nan.csv", "a,b\n1,2\n3,\n5,6\n7,8\n"), {}, "nan at row 1, column 'b'"),
    "inf": (lambda d: _npy(d / "inf.npy", np.where(np.arange(12).reshape(6, 2) == 7, np.inf, 1.0)), {}, "inf at row 3, column '1'"),
    "one_dim": (lambda d: _npy(d / "flat.npy", np.arange(10.0)), {}, r"shape \(10,\), not 2-D"),
    "three_dim": (lambda d: _npy(d / "cube.npy", np.zeros((4, 2, 2))), {}, r"shape \(4, 2, 2\), not 2-D"),
    "few_held_out": (lambda d: _npy(d / "four.npy", X[:4]), {}, r"4 row\(s\): 3 for training and 1 held out"),
    "few_held_out_share": (lambda d: _npy(d / "eight.npy", X[:8]), {"holdout": 0.1}, "7 for training and 1 held out"),
    "few_training": (lambda d: _npy(d / "three.npy", X[:3]), {"holdout": 0.9}, "0 for training and 3 held out"),
    "few_rows": (lambda d: _csv(d / "one.csv", "a\n1\n"), {"holdout": 0.0}, r"1 row\(s\): at least 2"),
    "unknown_column": (lambda d: _csv(d / "mixed.csv", MIXED), {"columns": ["a", "zz"]}, r"\(available: \['a', 'name'\]\)\. Got \['zz'\]"),
    "npz_no_array": (lambda d: np.savez(d / "two.npz", a=X, b=X) or d / "two.npz", {}, r": \['a', 'b'\]\. Got None"),
    "npz_unknown_array": (lambda d: np.savez(d / "two.npz", a=X, b=X) or d / "two.npz", {"array": "c"}, r": \['a', 'b'\]\. Got 'c'"),
    "constant_column": (lambda d: _csv(d / "flat.csv", "a,b\n1,2\n1,3\n1,4\n1,5\n"), {"standardize": True, "holdout": 0.0}, r"is constant; leave it out"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_fails_when_the_config_is_loaded_naming_the_file(tmp_path, case):
    write, data, why = BAD[case]
    path = write(tmp_path)
    with pytest.raises(InvalidParameterError, match=r"^The 'data\.\w+' parameter .*" + re.escape(repr(str(path))) + ".*" + why) as caught:
        autophagy.load_config(config(path, **data))
    assert "\n" not in str(caught.value)


def test_config_keys_are_checked():
    with pytest.raises(InvalidParameterError, match="'data.path' parameter is required"):
        autophagy.load_config({**config("x.npy"), "data": {"kind": "table"}})
    with pytest.raises(InvalidParameterError, match="'data.holdout'"):
        autophagy.load_config(config("x.npy", holdout=0.95))
    with pytest.raises(InvalidParameterError, match="'data.array' parameter must be unset unless"):
        autophagy.load_config(config("x.csv", array="a"))


def test_cli_bad_file_exits_2_with_one_line(tmp_path, capsys):
    good = write_all(tmp_path)[".npy"]
    bad = _csv(tmp_path / "bad.csv", "a,b\n1,2\n3,4\n5,inf\n7,8\n")
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config(good)))
    assert main(["run", str(path), "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--set", f"data.path={bad}"]) == 2
    err = capsys.readouterr().err
    assert "'data.path'" in err and "bad.csv" in err and "inf at row 2, column 'b'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
