"""``autophagy web-share``: the human share that keeps a web of Gaussian lineages below ε."""

from __future__ import annotations

import json

import pytest

from autophagy.cli import main
from autophagy.theory import human_share_for

ARGS = ["web-share", "--n-train", "50", "--publish", "50", "--pool-size", "4000", "--lineages", "20", "--dim", "4", "--bias", "0.9"]


def test_it_prints_the_table_and_the_smallest_share(capsys):
    assert main([*ARGS, "--epsilon", "0.3"]) == 0
    out = capsys.readouterr().out
    expected = human_share_for(0.3, 50, 50, 4000, lineages=20, dim=4, bias=0.9).share
    assert f"smallest human share with E W2² <= 0.3: p = {expected:.3f}" in out
    assert "human_share" in out and "all-human floor" in out


def test_json_gives_the_share_floor_and_table(capsys):
    assert main([*ARGS, "--epsilon", "0.3", "--format", "json", "--grid", "4"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert [row["human_share"] for row in answer["table"]] == [0.25, 0.5, 0.75, 1.0]
    assert answer["floor"] == answer["table"][-1]["w2"] and 0 < answer["share"] <= 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--epsilon", "0.01"], "The 'epsilon' parameter must be >= "),  # below the all-human error
        (["--epsilon", "-1"], "The 'epsilon' parameter must be a finite number > 0"),
        (["--epsilon", "0.3", "--bias", "1.5"], "The 'bias' parameter must be in (0, 1]"),
        (["--epsilon", "0.3", "--dim", "60"], "The 'dim' parameter must be an int in [1, n_train = 50)"),
        (["--epsilon", "0.3", "--estimator", "median"], "The 'estimator' parameter must be one of 'mle', 'unbiased'"),
        (["--epsilon", "0.3", "--format", "csv"], "The '--format' parameter must be one of table, json"),
    ],
)
def test_bad_input_exits_2_in_one_line(extra, message, capsys):
    assert main([*ARGS, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
