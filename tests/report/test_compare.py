import html
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from autophagy.cli import main
from autophagy.exceptions import InvalidParameterError
from autophagy.report import build_comparison
from autophagy.report.collect import metric_order
from autophagy.report.compare import compare, group_styles
from autophagy.report.html import safe_name

from .conftest import COMPARED

BY = ["loop.kind", "generator.bias"]
LABELS = [
    "loop.kind=fresh, generator.bias=0.7",
    "loop.kind=fresh, generator.bias=1.0",
    "loop.kind=fully_synthetic, generator.bias=0.7",
    "loop.kind=fully_synthetic, generator.bias=1.0",
]
EVIL = "<script>alert(1)</script>"


def raw_metrics(root):
    """Every metrics.parquet under ``root`` with its run's loop.kind and generator.bias, read
    with pandas alone (no autophagy code)."""
    frames = []
    for path in sorted(root.rglob("metrics.parquet")):
        config = yaml.safe_load((path.parent / "config.yaml").read_text())
        frames.append(
            pd.read_parquet(path).assign(
                label=f"loop.kind={config['loop']['kind']}, "
                f"generator.bias={config['generator']['bias']}",
                path=str(path.parent),
            )
        )
    return pd.concat(frames, ignore_index=True)


def outside_plotly_js(page):
    """The page without the inlined plotly.js bundle (whose code names URLs it never fetches
    here, e.g. map tiles)."""
    scripts = re.findall(r"<script\b[^>]*>.*?</script>", page, flags=re.S)
    (bundle,) = [s for s in scripts if "plotly.js v" in s]
    return page.replace(bundle, "")


def trace_count(page, mode="lines+markers"):
    return page.count(f'"mode":"{mode}"')


def test_groups_sorted_by_value_and_styled(comparison_store):
    comparison = compare(comparison_store, BY)
    assert [g.label for g in comparison.groups] == LABELS
    assert [len(g.runs) for g in comparison.groups] == [2, 2, 2, 2]
    styles = group_styles(comparison.groups)
    fresh_07, fresh_10, synth_07, synth_10 = (styles[label] for label in LABELS)
    # colour follows loop.kind, dash follows generator.bias (0.7 sorts first: solid)
    assert fresh_07.colour == fresh_10.colour != synth_07.colour == synth_10.colour
    assert fresh_07.dash == synth_07.dash == 0 and fresh_10.dash == synth_10.dash == 1
    assert list(comparison.metrics) == metric_order(raw_metrics(comparison_store)["metric"])


def test_means_pool_every_seed_of_every_run(comparison_store):
    raw = raw_metrics(comparison_store)
    summary = compare(comparison_store, BY).summary
    by = ["label", "metric", "generation"]
    grouped = raw.groupby(by)["value"]
    expected = pd.DataFrame(
        {"mean": grouped.mean(), "sd": grouped.std(ddof=1), "n": grouped.count()}
    ).reset_index()
    got = summary.merge(expected, left_on=["setting", "metric", "generation"], right_on=by)
    assert len(got) == len(summary) == len(expected)
    assert (got["n_x"] == 4).all() and (got["n_y"] == 4).all()  # 2 runs x 2 repeats
    np.testing.assert_allclose(got["mean_x"], got["mean_y"], rtol=1e-12)
    half = stats.t.ppf(0.975, 3) * got["sd"] / np.sqrt(4)
    np.testing.assert_allclose(got["hi"] - got["mean_x"], half, rtol=1e-9, atol=1e-12)


def test_page_has_one_chart_per_metric_and_works_offline(comparison_store, tmp_path):
    comparison = compare(comparison_store, BY)
    page = build_comparison(comparison_store, BY, out=tmp_path / "cmp")
    assert page == tmp_path / "cmp" / "index.html"
    text = page.read_text(encoding="utf-8")
    pngs = sorted(p.name for p in (tmp_path / "cmp" / "figures").glob("*.png"))
    assert pngs == sorted(f"{safe_name(m)}.png" for m in comparison.metrics)
    assert all((tmp_path / "cmp" / "figures" / p).stat().st_size > 0 for p in pngs)
    assert all(f'href="figures/{p}"' in text for p in pngs)
    n_metrics = len(comparison.metrics)
    assert text.count("Plotly.newPlot(") == n_metrics
    assert trace_count(text) == 4 * n_metrics  # one mean line per group and metric
    assert text.count('"dash":"dash"') == 2 * n_metrics  # generator.bias=1.0
    # offline: plotly.js inlined exactly once, nothing fetched
    assert text.count("plotly.js v") == 1
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, flags=re.I)
    rest = outside_plotly_js(text)
    assert "https://cdn" not in rest
    assert not re.search(r"""\b(src|href)\s*=\s*["']?(https?:)?//""", rest, flags=re.I)
    for label in LABELS:
        assert f"<td>{html.escape(label)}</td><td>2</td><td>4</td><td>0, 1, 10, 11</td>" in text
    assert "Pooled config keys" not in text


def test_keys_left_out_are_reported_as_pooled(comparison_store, tmp_path):
    page = build_comparison(comparison_store, ["generator.bias"], out=tmp_path / "cmp")
    text = page.read_text(encoding="utf-8")
    assert "Pooled config keys" in text
    assert "<td><code>loop.kind</code></td><td>fresh, fully_synthetic</td>" in text
    assert trace_count(text) == 2 * len(compare(comparison_store, ["generator.bias"]).metrics)
    assert '"dash":' not in outside_plotly_js(text)  # one key: every line solid


def test_metric_filter_keeps_metric_order_and_drops_stale_figures(comparison_store, tmp_path):
    out = tmp_path / "cmp"
    build_comparison(comparison_store, BY, out=out, metrics=["cov_trace", "frechet"])
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["cov_trace.png", "frechet.png"]
    page = build_comparison(comparison_store, BY, out=out, metrics=["cov_trace"])
    text = page.read_text(encoding="utf-8")
    assert [p.name for p in (out / "figures").glob("*.png")] == ["cov_trace.png"]
    assert text.count("Plotly.newPlot(") == 1 and trace_count(text) == 4
    assert list(compare(comparison_store, BY, ["cov_trace", "frechet"]).metrics) == metric_order(
        ["cov_trace", "frechet"]
    )


def test_unknown_or_missing_key_is_one_line_listing_the_keys(comparison_store):
    with pytest.raises(InvalidParameterError) as info:
        compare(comparison_store, ["loop.kind", "loop.knd"])
    message = str(info.value)
    form = r"The '--by' parameter must be one of \[(.*)\]\. Got 'loop\.knd' instead\."
    match = re.fullmatch(form, message)
    assert match is not None, message
    keys = match.group(1).split(", ")
    assert keys == sorted(keys) and {"name", "loop.kind", "generator.bias", "seed"} <= set(keys)
    empty = r"^The '--by' parameter must be one or more of \[.*\]\. Got \[\] instead\.$"
    with pytest.raises(InvalidParameterError, match=empty):
        compare(comparison_store, [])


def test_unknown_metric_lists_the_recorded_ones(comparison_store):
    recorded = ", ".join(compare(comparison_store, BY).metrics)
    expected = f"The '--metric' parameter must be one of [{recorded}]. Got 'fid' instead."
    with pytest.raises(InvalidParameterError, match=f"^{re.escape(expected)}$"):
        compare(comparison_store, BY, ["frechet", "fid"])
    assert set(COMPARED) <= set(recorded.split(", "))


def write_status(path, **status):
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"run_id": path.name, **status}))


def test_root_without_metrics_is_an_error_naming_it(tmp_path):
    write_status(tmp_path / "x" / "p1", name="x", status="pending")
    named = f"^No run with metrics under {re.escape(repr(str(tmp_path)))}"
    with pytest.raises(InvalidParameterError, match=named):
        build_comparison(tmp_path, BY)
    with pytest.raises(InvalidParameterError, match="does not exist"):
        build_comparison(tmp_path / "nowhere", BY)


def test_pending_and_failed_runs_join_the_table_not_the_charts(comparison_store, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(comparison_store, root)
    write_status(root / "compare" / "queued", name="compare", status="pending")  # no config yet
    failed = root / "compare" / "crashed"
    write_status(failed, name="compare", status="failed", error="DegenerateFitError: boom")
    config = yaml.safe_load(next(root.rglob("config.yaml")).read_text())
    (failed / "config.yaml").write_text(yaml.safe_dump(config))
    label = f"loop.kind={config['loop']['kind']}, generator.bias={config['generator']['bias']}"

    page = build_comparison(root, BY)  # default folder
    assert page == root / "report" / "compare-loop.kind+generator.bias" / "index.html"
    text = page.read_text(encoding="utf-8")
    comparison = compare(root, BY)
    assert [g.label for g in comparison.groups] == [*LABELS, "loop.kind=—, generator.bias=—"]
    assert trace_count(text) == 4 * len(comparison.metrics)  # no line for the pending group
    assert "—: the runs lack the key" in text
    assert (
        '<td>loop.kind=—, generator.bias=—</td><td>1</td><td>0</td><td>none yet</td>'
        '<td><span class="status pending">1 pending</span></td>'
    ) in text
    row = re.search(rf"<td>{re.escape(html.escape(label))}</td>(.*?)</tr>", text).group(1)
    assert row.startswith("<td>3</td><td>4</td>")
    assert "2 complete</span>, " in row and "1 failed</span>" in row


def test_user_strings_are_escaped(comparison_store, tmp_path):
    root = tmp_path / "runs"
    source = next(comparison_store.rglob("metrics.parquet")).parent
    shutil.copytree(source, root / "plain" / "r0")
    evil = root / "evil" / "r1"
    shutil.copytree(source, evil)
    config = yaml.safe_load((evil / "config.yaml").read_text())
    config["loop"]["kind"] = EVIL
    config["<i>note"] = "x & y"
    (evil / "config.yaml").write_text(yaml.safe_dump(config))
    status = json.loads((evil / "run.json").read_text())
    (evil / "run.json").write_text(json.dumps({**status, "name": "<img src=x onerror=alert(2)>"}))
    metrics = pd.read_parquet(evil / "metrics.parquet")
    metrics["metric"] = metrics["metric"].replace("frechet", "<b onmouseover=alert(3)>")
    metrics.to_parquet(evil / "metrics.parquet", index=False)

    texts = {}
    for by in (["loop.kind"], ["generator.bias"], ["name", "loop.kind"]):
        page = build_comparison(root, by, out=tmp_path / "-".join(by))
        texts[by[0]] = text = page.read_text(encoding="utf-8")
        for raw in (EVIL, "<img src=x", "<b onmouseover", "<i>note"):
            assert raw not in text, (by, raw)
        assert html.escape(EVIL) in text  # a group label, or a pooled value
    assert "<code>&lt;i&gt;note</code>" in texts["generator.bias"]  # pooled: one run has it
    assert html.escape("<img src=x onerror=alert(2)>") in texts["name"]
    png = f"{safe_name('<b onmouseover=alert(3)>')}.png"
    assert (tmp_path / "name-loop.kind" / "figures" / png).is_file()


def test_cli_report_by(comparison_store, tmp_path, capsys):
    root = tmp_path / "runs"
    shutil.copytree(comparison_store, root)
    assert main(["report", str(root), "--by", "loop.kind", "--by", "generator.bias"]) == 0
    page = root / "report" / "compare-loop.kind+generator.bias" / "index.html"
    assert capsys.readouterr().out.strip() == str(page)
    assert "Plotly.newPlot(" in page.read_text(encoding="utf-8")

    one = ["--by", "loop.kind", "--metric", "frechet", "--out", str(tmp_path / "one")]
    assert main(["report", str(root), *one]) == 0
    assert [p.name for p in (tmp_path / "one" / "figures").glob("*.png")] == ["frechet.png"]
    capsys.readouterr()

    assert main(["report", str(root), "--by", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The '--by' parameter must be one of [") and err.count("\n") == 1
    assert main(["report", str(root), "--metric", "frechet"]) == 2  # --metric needs --by
    assert "needs --by" in capsys.readouterr().err
