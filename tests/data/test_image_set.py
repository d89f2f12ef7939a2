"""Labelled images for image generators (``data.kind: images``): layouts, scaling, split, errors."""

from __future__ import annotations

import numpy as np
import pytest

from autophagy.exceptions import InvalidParameterError
from autophagy.images.source import ImageSetConfig, build


def source(**keys):
    return build(ImageSetConfig(**keys))


def test_bundled_digits_rows_split_and_scaling():
    src = source()
    assert src.image_shape == (1, 8, 8) and src.n_classes == 10 and src.dim == 65
    assert len(src.train_index) + len(src.test_index) == 1797
    assert len(src.test_index) == round(0.2 * 1797)
    assert not set(src.train_index) & set(src.test_index)
    rows = src.sample(500, rng=np.random.default_rng(0))
    assert rows.shape == (500, 65)
    assert rows[:, :-1].min() == 0.0 and rows[:, :-1].max() == 1.0  # digits' 0..16 scaled by 16
    assert set(np.unique(rows[:, -1])) <= set(range(10))
    # without replacement while n fits the training pool: 500 distinct training images
    index = src.train_index[np.random.default_rng(0).choice(len(src.train_index), 500, replace=False)]
    np.testing.assert_array_equal(rows[:, :-1], src.images[index])


def test_split_depends_on_split_seed_only():
    a, b, c = source(), source(), source(split_seed=1)
    np.testing.assert_array_equal(a.test_index, b.test_index)
    assert not np.array_equal(a.test_index, c.test_index)


def test_holdout_draws_held_out_images_without_replacement():
    src = source()
    rows = src.holdout(300, rng=np.random.default_rng(1))
    held_out = {src.images[i].tobytes() for i in src.test_index}
    assert all(r[:-1].astype(np.float32).tobytes() in held_out for r in rows)
    assert len({r.tobytes() for r in rows}) == len({tuple(r) for r in rows})
    with pytest.raises(InvalidParameterError, match=r"'eval.n_samples'.*359 held-out"):
        src.holdout(360, rng=np.random.default_rng(1))


def test_more_than_the_pool_draws_with_replacement():
    src = source()
    rows = src.sample(3000, rng=np.random.default_rng(2))
    assert rows.shape == (3000, 65)


@pytest.mark.parametrize(
    ("x", "shape", "expected"),
    [
        (np.zeros((6, 5, 7), np.uint8), None, (1, 5, 7)),
        (np.zeros((6, 4, 4, 3), np.uint8), None, (3, 4, 4)),
        (np.zeros((6, 3, 4, 4), np.uint8), None, (3, 4, 4)),
        (np.zeros((6, 16), np.float32), None, (1, 4, 4)),
        (np.zeros((6, 12), np.float32), [3, 4], (1, 3, 4)),
        (np.zeros((6, 48), np.float32), [3, 4, 4], (3, 4, 4)),
    ],
)
def test_local_layouts(tmp_path, x, shape, expected):
    x = x.copy()
    x[0].flat[0] = 255 if x.dtype == np.uint8 else 0.5
    path = tmp_path / "images.npz"
    np.savez(path, x=x, y=np.arange(6) % 2)
    src = source(path=str(path), shape=shape, holdout=0.5)
    assert src.image_shape == expected and src.n_classes == 2
    assert src.images.max() == (1.0 if x.dtype == np.uint8 else 0.5)


def test_channels_last_is_moved_to_channel_major(tmp_path):
    x = np.zeros((4, 2, 2, 3), np.uint8)
    x[..., 1] = 255  # green everywhere
    path = tmp_path / "rgb.npz"
    np.savez(path, x=x, y=np.arange(4) % 2)
    src = source(path=str(path), holdout=0.5)
    image = src.images[0].reshape(3, 2, 2)
    np.testing.assert_array_equal(image[1], 1.0)
    np.testing.assert_array_equal(image[[0, 2]], 0.0)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (np.zeros((6, 2, 3, 4, 5)), np.arange(6), "rank 5"),
        (np.zeros((6, 4, 4, 5)), np.arange(6), "no channel axis"),
        (np.zeros((6, 15)), np.arange(6), "not square"),
        (np.zeros((6, 4, 4), dtype="datetime64[s]"), np.arange(6), "not a number"),
        (-np.ones((6, 4, 4)), np.arange(6), "non-negative pixels"),
        (np.zeros((6, 4, 4)), np.arange(6) + 0.5, "class labels"),
        (np.zeros((6, 4, 4)), -np.ones(6), "class labels"),
    ],
)
def test_bad_image_files_fail_with_the_key_and_the_file(tmp_path, x, y, match):
    path = tmp_path / "bad.npz"
    np.savez(path, x=x, y=y)
    with pytest.raises(InvalidParameterError, match=match) as info:
        source(path=str(path))
    assert "'data.path'" in str(info.value) and "bad.npz" in str(info.value)


def test_shape_that_does_not_fit_is_refused(tmp_path):
    path = tmp_path / "flat.npz"
    np.savez(path, x=np.zeros((6, 16)), y=np.arange(6))
    with pytest.raises(InvalidParameterError, match=r"data.shape \[3, 3\] needs 9"):
        source(path=str(path), shape=[3, 3])
