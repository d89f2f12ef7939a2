"""Every ``autophagy`` command of the README runs and exits 0, reduced with ``--set`` as a user
would shorten it (the README's Python block: tests/test_readme.py). Commands run in order in
one folder, so ``report``, ``runs``, ``query`` and ``status`` read what the commands before
them wrote."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from autophagy.cli import main

from .test_examples_run import FURTHER, REDUCED

ROOT = Path(__file__).parents[1]
#: Commands that name what only the reader has: their own sweep file, their Ray cluster.
PLACEHOLDERS = {"grid.yaml": "the reader's own sweep file", "web.yaml": "the reader's own web file", "ray://": "the reader's Ray cluster"}
#: The neural demo, shortened as its example file is in test_examples_run.
FURTHER_DEMO = {"vae": ["generator.steps=200", "eval.n_samples=200", "loop.n_real=300", "loop.n_synthetic=300"]}


def readme_commands() -> list[str]:
    """The ``autophagy ...`` lines of the README's bash blocks, comments cut, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()]
    return [re.split(r"\s+#", line)[0].strip() for line in lines if line.strip().startswith("autophagy ")]


def reduced(command: str) -> list[str]:
    """The command's arguments, files made absolute and runs shortened."""
    args = [str(ROOT / a) if (ROOT / a).is_file() else a for a in shlex.split(command)[1:]]
    name = args[0]
    if name in ("run", "sweep"):
        stem = Path(args[1]).stem
        items = [*REDUCED, *FURTHER.get(stem, [])]
        if "--only" in args:  # its index counts the file's runs as written: keep every seed
            items = [i for i in items if not i.startswith("sweep.")]
        return [*args, *(x for item in items for x in ("--set", item))]
    if name == "demo":
        family = args[args.index("--family") + 1] if "--family" in args else None
        items = ["generations=2", *FURTHER_DEMO.get(family or "", [])]
        return [*args, "--repeats", "1", *(x for item in items for x in ("--set", item))]
    return args


def test_the_readme_placeholders_are_the_readers_own():
    commands = readme_commands()
    assert len(commands) > 20
    for marker in PLACEHOLDERS:  # each still used, and none is a file the repository ships
        assert any(marker in c for c in commands), marker
        if marker.endswith(".yaml"):
            assert not list(ROOT.rglob(marker)), marker


def test_every_readme_command_runs_reduced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ran = []
    for command in [*readme_commands(), "autophagy demo"]:  # and `make demo`'s own command
        if any(p in command for p in PLACEHOLDERS):
            continue
        args = reduced(command)
        code = main(args)
        assert code == 0, f"{command!r} (run as {args}) exited {code}"
        ran.append(command)
    assert len(ran) >= 20
    assert (tmp_path / "runs").is_dir() and (tmp_path / "runs" / "demo").is_dir()


@pytest.mark.parametrize("command", ["autophagy sweep examples/web_gaussian.yaml --out runs --set web.lineages.0.count=100"])
def test_reduction_keeps_the_users_own_overrides(command):
    args = reduced(command)
    assert args[:2] == ["sweep", str(ROOT / "examples" / "web_gaussian.yaml")]
    assert "web.lineages.0.count=100" in args and "generations=2" in args
