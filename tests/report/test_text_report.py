"""Reports of text experiments: perplexity histograms and decoded example texts, no scatter plots.

The text sources are stood in for by :class:`WordSource` (monkeypatched over
``report.html.text_source``), so these tests need neither torch nor the text package.
"""

import html
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.image import imread

from autophagy.report import build_report
from autophagy.report import html as report_html
from autophagy.report.collect import read_run
from autophagy.report.figures import perplexity_histogram_png, shown_generations

GENERATIONS = 5  # the runner snapshots samples at generations 1, 3 and 5
SEQ_LEN = 40
VOCAB = 60
SCRIPT = 7  # the token id whose text is markup: it must reach the page escaped
LOOPS = ("fresh", "<b>synthetic</b>")  # a setting label that must be escaped
TEXT_METRICS = (
    "perplexity_real", "sample_perplexity", "true_perplexity", "kl_to_truth", "tail_mass",
    "vocab_coverage", "distinct_n_1", "distinct_n_2", "distinct_n_3", "repetition_rate",
)


class WordSource:
    """A stand-in text source: id i is the word ``word<i>``, id 7 a script tag."""

    seq_len = SEQ_LEN
    vocab_size = VOCAB
    tokens = [f"word{i}" for i in range(VOCAB)]
    tokens[SCRIPT] = "<script>alert(1)</script>"

    def decode(self, ids):
        return " ".join(self.tokens[i] for i in ids)


def text_config(loop, seed, generations=GENERATIONS):
    """A resolved config of an n-gram LM on a grammar (never validated by the report)."""
    return {
        "name": "grammar-ngram",
        "seed": seed,
        "generations": generations,
        "repeats": 1,
        "data": {"kind": "grammar", "vocab_size": VOCAB, "seq_len": SEQ_LEN, "seed": 0},
        "generator": {"kind": "ngram", "order": 3},
        "loop": {"kind": loop, "n_real": 100, "n_synthetic": 100},
        "metrics": ["perplexity_real", "sample_perplexity"],
    }


def token_rows(n, rng, offset=0):
    """n sequences of SEQ_LEN token ids (float64), ids in [offset, offset + 20)."""
    return rng.integers(offset, offset + 20, size=(n, SEQ_LEN)).astype(np.float64)


def write_text_run(path, loop, seed, *, generations=GENERATIONS, perplexities=True):
    """A fake text run directory; generation g's texts use ids 20 + g.. (real: 10..29, with
    the script token first)."""
    path.mkdir(parents=True)
    config = text_config(loop, seed, generations)
    (path / "config.yaml").write_text(yaml.safe_dump(config))
    status = {"run_id": path.name, "name": config["name"], "status": "complete"}
    (path / "run.json").write_text(json.dumps(status))
    rows = [
        (path.name, seed, g, metric, 10.0 + g + k + seed)
        for g in range(1, generations + 1)
        for k, metric in enumerate(TEXT_METRICS)
    ]
    pd.DataFrame(rows, columns=["run", "seed", "generation", "metric", "value"]).to_parquet(
        path / "metrics.parquet", index=False
    )
    rng = np.random.default_rng(seed)
    samples = path / "samples"
    samples.mkdir()
    real = token_rows(30, rng, offset=10)
    real[0, 0] = SCRIPT
    np.save(samples / "real.npy", real)
    for g in (1, (generations + 1) // 2, generations):
        np.save(samples / f"gen-{g:04d}.npy", token_rows(30, rng, offset=20 + g))
    if perplexities:
        (samples / "sample_perplexity").mkdir()
        for g in range(1, generations + 1):
            # narrowing toward low perplexity, one sample far out in the tail
            values = np.exp(rng.normal(3.0 - 0.2 * g, 0.5 / g, size=200))
            values[0] = 1e3
            np.save(samples / "sample_perplexity" / f"gen-{g:04d}.npy", values)
    return path


def recorder(calls):
    def record(per_generation, title, path, **kwargs):
        calls.append({g: np.array(x) for g, x in per_generation.items()})
        return perplexity_histogram_png(per_generation, title, path, **kwargs)

    return record


@pytest.fixture(scope="module")
def text_report(tmp_path_factory):
    """2 settings (loop.kind) x 2 seeds; records the perplexity-histogram calls."""
    root = tmp_path_factory.mktemp("text-runs")
    for i, loop in enumerate(LOOPS):
        for seed in (0, 1):
            write_text_run(root / "grammar-ngram" / f"run-{i}-{seed}", loop, seed)
    calls = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_html, "text_source", lambda data: WordSource())
        patch.setattr(report_html, "perplexity_histogram_png", recorder(calls))
        (page,) = build_report(root)
    return root, page, page.read_text(encoding="utf-8"), calls


def test_text_page_draws_perplexity_histograms_not_scatter_plots(text_report):
    root, page, text, calls = text_report
    names = sorted(p.name for p in (page.parent / "figures").glob("*.png"))
    others = [n for n in names if not n.startswith("metric-")]
    assert others == ["overview.png", "perplexity-01.png", "perplexity-02.png"]  # the small multiples, then the histograms
    assert len([n for n in names if n.startswith("metric-")]) == len(TEXT_METRICS)
    # the first run of each setting (seed 0), every generation written
    assert [sorted(c) for c in calls] == [list(range(1, GENERATIONS + 1))] * 2
    run = root / "grammar-ngram" / "run-0-0" / "samples" / "sample_perplexity"
    for g in range(1, GENERATIONS + 1):
        np.testing.assert_array_equal(calls[0][g], np.load(run / f"gen-{g:04d}.npy"))
    assert text.count('<img src="data:image/png;base64,') == 3  # the small multiples and the two histograms, no scatter plot
    assert "<h2>Samples</h2>" not in text and "principal axes" not in text
    perplexity = text.index("<h2>Perplexity of generated text under generation 1</h2>")
    assert perplexity < text.index("<h2>Generated text</h2>") < text.index("<h2>Config</h2>")
    assert "<b>synthetic</b>" not in text and "loop.kind=&lt;b&gt;synthetic&lt;/b&gt;" in text


def test_text_page_shows_decoded_escaped_texts(text_report):
    root, _, text, _ = text_report
    section = text[text.index("<h2>Generated text</h2>") : text.index("<h2>Config</h2>")]
    source = WordSource()
    for i in range(len(LOOPS)):
        samples = root / "grammar-ngram" / f"run-{i}-0" / "samples"
        for name in ("real", "gen-0001", "gen-0003", "gen-0005"):
            rows = np.load(samples / f"{name}.npy")
            for k, row in enumerate(rows[: report_html.N_TEXTS + 1]):
                decoded = source.decode(row.astype(int))
                assert len(decoded) > report_html.TEXT_CHARS  # so the page shows it cut
                shown = html.escape(decoded[: report_html.TEXT_CHARS]) + "…</li>"
                assert (shown in section) == (k < report_html.N_TEXTS), (i, name, k)
    assert section.count("<h4>real</h4>") == 2
    assert section.count("<h4>generation 3</h4>") == 2
    assert section.count("<li>") == 2 * 4 * report_html.N_TEXTS
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "<script>alert(1)" not in text
    assert 'class="note"' not in section  # every sample decoded
    assert "run run-0-0, seed 0" in section


def test_undecodable_texts_fall_back_to_token_ids(tmp_path, monkeypatch):
    run = write_text_run(tmp_path / "runs" / "r", "fresh", 0, perplexities=False)

    def missing(data):
        raise ModuleNotFoundError("No module named 'autophagy.text.corpus'")

    monkeypatch.setattr(report_html, "text_source", missing)
    (page,) = build_report(tmp_path / "runs")
    text = page.read_text(encoding="utf-8")
    first = np.load(run / "samples" / "real.npy")[0]
    assert "<li>" + " ".join(str(int(v)) for v in first) + "</li>" in text
    assert "ModuleNotFoundError: No module named &#x27;autophagy.text.corpus&#x27;" in text
    assert "Perplexity of generated text" not in text  # no artifacts, no histogram
    assert not list((page.parent / "figures").glob("samples-*.png"))


def test_text_source_failures_are_caught(tmp_path):
    """Whatever state the text package is in, a missing corpus file only costs the decoding."""
    run = write_text_run(tmp_path / "r", "fresh", 0, perplexities=False)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["data"] = {"kind": "corpus", "path": str(tmp_path / "gone.txt")}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    source, why = report_html._cached_source(read_run(run), {})
    assert source is None and why


def test_decode_row_rejects_ids_the_source_cannot_read():
    source = WordSource()
    assert report_html.decode_row(np.array([1.0, 2.0]), source) == "word1 word2"
    assert report_html.decode_row(np.array([1.0, VOCAB]), source) is None  # outside the vocabulary
    assert report_html.decode_row(np.array([1.0, -1.0]), source) is None
    assert report_html.decode_row(np.array([1.5, 2.0]), source) is None  # not an id
    assert report_html.decode_row(np.array([1.0, np.nan]), source) is None
    assert report_html.decode_row(np.array([1.0]), None) is None
    assert report_html.ids_text(np.array([3.0, 0.0, 1.5, np.nan])) == "3 0 1.5 nan"
    assert report_html.clip_text("a\nb", 10) == "a⏎b"
    assert report_html.clip_text("x" * 201) == "x" * 200 + "…"


def test_many_generations_are_thinned_to_eight(tmp_path):
    root = tmp_path / "runs"
    write_text_run(root / "r-0", "fresh", 0, generations=20, perplexities=False)  # first run: none
    write_text_run(root / "r-1", "fresh", 1, generations=20)
    calls = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_html, "text_source", lambda data: WordSource())
        patch.setattr(report_html, "perplexity_histogram_png", recorder(calls))
        build_report(root)
    assert [sorted(c) for c in calls] == [[1, 4, 6, 9, 12, 15, 17, 20]]
    assert shown_generations(range(1, 11)) == list(range(1, 11))
    assert shown_generations([5, 1, 11, 2, 3, 4, 6, 7, 8, 9, 10]) == [1, 2, 4, 5, 7, 8, 10, 11]


def test_perplexity_histogram_png_survives_bad_values(tmp_path):
    rng = np.random.default_rng(0)
    per_generation = {g: np.exp(rng.normal(3 - 0.3 * g, 0.5, size=100)) for g in range(1, 13)}
    per_generation[2] = np.r_[per_generation[2], np.nan, np.inf, 0.0]
    per_generation[12] = np.full(5, np.nan)  # nothing finite: a legend entry only
    path = perplexity_histogram_png(per_generation, "t", tmp_path / "p.png")
    assert imread(path).shape[:2] == (440, 748)  # figsize (6.8, 4.0) at 110 dpi
    path = perplexity_histogram_png({1: np.full(4, 7.0)}, "one value", tmp_path / "q.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
