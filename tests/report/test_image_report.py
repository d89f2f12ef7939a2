"""Reports of image experiments: image grids instead of scatter plots, class histograms."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.image import imread

from autophagy.report import build_report, collect, summarise
from autophagy.report import html as report_html
from autophagy.report.collect import read_run
from autophagy.report.figures import class_histogram_png, image_grid_png, image_mosaic

GENERATIONS = 3
N_CLASSES = 10
LOOPS = ("fresh", "<b>synthetic</b>")  # a setting label that must be escaped


DIGITS = {"kind": "images", "path": None, "shape": None, "holdout": 0.2, "split_seed": 0}


def image_config(loop, seed):
    """A resolved config of a vae on the bundled 8x8 digits (never validated by the report)."""
    return {
        "name": "digits-vae",
        "seed": seed,
        "generations": GENERATIONS,
        "repeats": 1,
        "data": DIGITS,
        "generator": {"kind": "vae", "latent_dim": 8},
        "loop": {"kind": loop, "n_real": 100, "n_synthetic": 100},
        "metrics": ["fid", "class_entropy", "class_frequency"],
    }


def class_shares(loop, generation):
    """Uniform for 'fresh'; collapsing onto class 0 generation after generation otherwise."""
    if loop == "fresh":
        return np.full(N_CLASSES, 1 / N_CLASSES)
    shares = np.full(N_CLASSES, 0.5**generation / (N_CLASSES - 1))
    shares[0] = 1 - shares[1:].sum()
    return shares


def digit_rows(labels, rng):
    """Rows of 8x8 grey images (64 pixels in [0, 1]) followed by their labels."""
    return np.column_stack([rng.uniform(size=(len(labels), 64)), labels])


def write_image_run(path, loop, seed):
    path.mkdir(parents=True)
    config = image_config(loop, seed)
    (path / "config.yaml").write_text(yaml.safe_dump(config))
    status = {"run_id": path.name, "name": config["name"], "status": "complete"}
    (path / "run.json").write_text(json.dumps(status))
    rows = []
    for g in range(1, GENERATIONS + 1):
        shares = class_shares(loop, g) + 0.01 * seed
        values = {"fid": 10.0 * g + seed, "class_entropy": 2.0 - 0.1 * g}
        values.update({f"class_frequency_{k}": shares[k] for k in range(N_CLASSES)})
        rows += [(path.name, seed, g, metric, value) for metric, value in values.items()]
    pd.DataFrame(rows, columns=["run", "seed", "generation", "metric", "value"]).to_parquet(
        path / "metrics.parquet", index=False
    )
    rng = np.random.default_rng(seed)
    samples = path / "samples"
    samples.mkdir()
    np.save(samples / "real.npy", digit_rows(rng.integers(0, N_CLASSES, 100), rng))
    for g in (1, 2, 3):
        np.save(samples / f"gen-{g:04d}.npy", digit_rows(np.full(100, -1.0), rng))  # unconditional


@pytest.fixture(scope="module")
def image_report(tmp_path_factory):
    """2 settings (loop.kind) x 2 seeds; records the image-grid calls made while reporting."""
    root = tmp_path_factory.mktemp("image-runs")
    for i, loop in enumerate(LOOPS):
        for seed in (0, 1):
            write_image_run(root / "digits-vae" / f"run-{i}-{seed}", loop, seed)
    calls = []

    def spy(panels, image_shape, title, path, **kwargs):
        calls.append(([name for name, _ in panels], image_shape))
        return image_grid_png(panels, image_shape, title, path, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_html, "image_grid_png", spy)
        (page,) = build_report(root)
    return root, page, page.read_text(encoding="utf-8"), calls


def test_image_page_draws_grids_and_class_histograms(image_report):
    root, page, text, calls = image_report
    names = sorted(p.name for p in (page.parent / "figures").glob("*.png"))
    charted = sorted(n[len("metric-NN-") : -len(".png")] for n in names if n.startswith("metric-"))
    assert charted == ["class_entropy", "fid"]  # in registry order, whatever it is
    assert [n for n in names if not n.startswith("metric-")] == [
        "classes-01.png",
        "classes-02.png",
        "samples-01.png",
        "samples-02.png",
    ]
    assert calls == [(["real", "generation 1", "generation 2", "generation 3"], (1, 8, 8))] * 2
    assert "principal axes" not in text  # no scatter projection
    assert "<h2>Class frequencies</h2>" in text
    assert text.count("Plotly.newPlot(") == 2  # fid and class_entropy; no class_frequency_k chart
    assert "<h3>class_frequency" not in text
    assert text.count('<img src="data:image/png;base64,') == 4  # 2 grids + 2 histograms
    assert "<b>synthetic</b>" not in text and "loop.kind=&lt;b&gt;synthetic&lt;/b&gt;" in text


def test_class_frequencies_average_repeats_at_first_middle_last(image_report):
    root, _, _, _ = image_report
    (experiment,) = collect(root)
    summary = summarise(experiment.metrics)
    shares = report_html.class_frequencies(summary, "loop.kind=<b>synthetic</b>")
    assert sorted(shares) == [1, 2, 3]
    mean, lo, hi = shares[3]
    # seeds 0 and 1 add 0.00 and 0.01 to every share: the mean adds 0.005
    np.testing.assert_allclose(mean, class_shares(LOOPS[1], 3) + 0.005)
    assert np.all(lo < mean) and np.all(mean < hi)
    assert report_html.class_frequencies(summary.assign(metric="fid"), "loop.kind=fresh") == {}


def test_image_mosaic_puts_one_class_per_row():
    # class k: constant images of grey (k + 1) / 10; class 1 has a single image, class 2 none
    labels = np.array([0, 0, 0, 1, 3, 0])
    rows = np.column_stack([np.repeat((labels[:, None] + 1) / 10, 4, axis=1), labels])
    mosaic = image_mosaic(rows, (1, 2, 2), n_rows=4, n_cols=3, by_class=True)
    assert mosaic.shape == (4 * 3 - 1, 3 * 3 - 1, 4)
    alpha, grey = mosaic[..., 3], mosaic[..., 0]
    cell = (slice(None, 2), slice(None, 2))  # top-left 2x2 pixels of a cell
    filled = [
        [alpha[3 * i : 3 * i + 2, 3 * j : 3 * j + 2].min() for j in range(3)]
        for i in range(4)
    ]
    assert filled == [[1, 1, 1], [1, 0, 0], [0, 0, 0], [1, 0, 0]]  # class 0's 4th image cut off
    assert grey[cell].tolist() == [[0.1, 0.1], [0.1, 0.1]]
    assert grey[3, 0] == pytest.approx(0.2) and grey[9, 0] == pytest.approx(0.4)
    assert np.all(alpha[2, :] == 0) and np.all(alpha[:, 2] == 0)  # transparent separators
    np.testing.assert_array_equal(mosaic[..., 0], mosaic[..., 2])  # grey: R = G = B


def test_image_mosaic_unlabelled_fills_rows_and_clips_rgb():
    red = np.concatenate([np.full(4, 2.0), np.zeros(8)])  # channel-major 3x2x2, R over 1: clipped
    rows = np.column_stack([np.tile(red, (5, 1)), np.full(5, -1.0)])
    mosaic = image_mosaic(rows, (3, 2, 2), n_rows=2, n_cols=4)
    assert mosaic[0, 0].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert mosaic[3, 0, 3] == 1.0 and mosaic[3, 3, 3] == 0.0  # 5 images: row 2 holds only the 5th


def test_image_grid_png_draws_classes_top_to_bottom(tmp_path):
    red = np.r_[np.ones(16), np.zeros(32)]  # channel-major 3x4x4
    green = np.r_[np.zeros(16), np.ones(16), np.zeros(16)]
    pixels = np.vstack([np.tile(green, (8, 1)), np.tile(red, (8, 1))])
    rows = np.column_stack([pixels, np.r_[np.ones(8), np.zeros(8)]])  # green: class 1, red: 0
    panels = [("real", rows), ("generation 1", rows)]
    path = image_grid_png(panels, (3, 4, 4), "t", tmp_path / "g.png")
    pixels = imread(path)[..., :3]
    is_red = np.all(np.abs(pixels - [1, 0, 0]) < 0.02, axis=-1)
    is_green = np.all(np.abs(pixels - [0, 1, 0]) < 0.02, axis=-1)
    assert is_red.sum() > 8 * 16 * 2 and is_green.sum() > 8 * 16 * 2  # 2 panels, upscaled
    assert np.nonzero(is_red)[0].max() < np.nonzero(is_green)[0].min()  # class 0 row above class 1


def test_class_histogram_png_writes_a_png(tmp_path):
    mean, collapsed, unknown = np.full(4, 0.25), np.array([0.7, 0.1, 0.1, 0.1]), np.full(4, np.nan)
    shares = {1: (mean, mean - 0.05, mean + 0.05), 5: (collapsed, unknown, unknown)}
    path = class_histogram_png(shares, "collapse", tmp_path / "c.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert imread(path).shape[:2] == (396, 704)  # figsize (6.4, 3.6) at 110 dpi


def test_image_shape_comes_from_the_data_group(tmp_path):
    write_image_run(tmp_path / "r", "fresh", 0)
    run = read_run(tmp_path / "r")
    assert report_html._image_shape(run, 65) == (1, 8, 8)
    assert report_html._image_shape(run, 66) is None  # rows of another width: not images
    gone = {"kind": "images", "path": str(tmp_path / "gone.npz")}
    assert report_html._data_image_shape({**gone, "shape": [3, 4, 4]}, 48) == (3, 4, 4)
    assert report_html._data_image_shape(gone, 49) == (1, 7, 7)
    assert report_html._data_image_shape(gone, 3 * 25) == (3, 5, 5)
    gaussian = replace(run, config={**run.config, "data": {"kind": "gaussian", "dim": 64}})
    assert report_html._image_shape(gaussian, 65) is None
