"""Process-pool workers of a sweep die with the sweep (issue 14).

A sweep runs as a subprocess whose environment carries a marker that every process it starts
inherits (its pool workers, multiprocessing's resource tracker), so its descendants are found
in ``/proc`` even once orphaned (re-parented to init). Only the sweep process itself is killed:
its workers must notice and go, not run the queued runs and then idle forever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from autophagy.cli import main
from autophagy.runner.sweep import expand, run_sweep

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds processes through /proc")

MARKER = "AUTOPHAGY_TEST_WORKER_LIFETIME"


def busy_sweep(folder: Path) -> Path:
    """4 runs of ~1.5 s each (150 generations of 50 000 points): two workers stay busy for seconds."""
    spec = folder / "sweep.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "lifetime",
        "seed": 5,
        "generations": 150,
        "engine": "sampled",
        "data": {"kind": "gaussian", "dim": 3},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fully_synthetic", "n_real": 50_000, "n_synthetic": 50_000},
        "metrics": ["frechet"],
        "eval": {"n_samples": 200},
        "sweep": {"seeds": 4},
    }))
    return spec


def marked(tag: str) -> dict[int, str]:
    """Live (not zombie) processes whose environment holds ``MARKER=tag``: pid -> command line."""
    found = {}
    needle = f"{MARKER}={tag}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours
            continue
        if state not in ("Z", "X"):
            found[int(entry.name)] = command
    return found


@pytest.fixture
def tag(tmp_path):
    """This test's marker value; whatever carries it is killed at the end (were the fix broken,
    its orphans would otherwise idle forever)."""
    yield str(tmp_path)
    for pid in marked(str(tmp_path)):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def start_sweep(spec: Path, out: Path, tag: str) -> subprocess.Popen[bytes]:
    """Start the sweep and wait until its two workers exist and one of them computes a run."""
    command = [sys.executable, "-m", "autophagy.cli", "sweep", str(spec), "--out", str(out), "--workers", "2", "--backend", "process"]
    sweep = subprocess.Popen(command, env={**os.environ, MARKER: tag}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        assert sweep.poll() is None, f"the sweep ended (exit {sweep.returncode}) before it could be killed"
        assert time.monotonic() < deadline, f"no busy workers after 60 s: {marked(tag)}"
        workers = [pid for pid, cmd in marked(tag).items() if pid != sweep.pid and "--multiprocessing-fork" in cmd]
        running = [s.get("pid") for s in statuses(out) if s.get("status") == "running"]
        if len(workers) == 2 and any(pid in workers for pid in running):
            return sweep
        time.sleep(0.05)


def statuses(out: Path) -> list[dict]:
    found = []
    for path in out.glob("*/*/run.json"):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return found


def assert_all_gone(tag: str, within: float = 5.0) -> None:
    """Every process the sweep started ends within ``within`` seconds."""
    deadline = time.monotonic() + within
    while (left := marked(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes outlived the sweep: {left}"


def test_workers_die_when_the_sweep_is_sigkilled(tmp_path, tag):
    sweep = start_sweep(busy_sweep(tmp_path), tmp_path / "runs", tag)
    sweep.send_signal(signal.SIGKILL)  # the sweep process only: its workers are orphaned
    assert sweep.wait(timeout=30) == -signal.SIGKILL
    assert_all_gone(tag)


def test_a_sigtermed_sweep_stops_its_workers_exits_143_and_resumes(tmp_path, tag):
    spec, out = busy_sweep(tmp_path), tmp_path / "runs"
    sweep = start_sweep(spec, out, tag)
    sweep.send_signal(signal.SIGTERM)
    assert sweep.wait(timeout=30) in (128 + signal.SIGTERM, -signal.SIGTERM)
    assert_all_gone(tag)
    assert len(statuses(out)) == 4
    # the same sweep again (in this process, one run at a time) resumes and finishes every run
    assert main(["sweep", str(spec), "--out", str(out), "--backend", "local"]) == 0
    assert [(s["status"], s["generations_done"]) for s in statuses(out)] == [("complete", 150)] * 4


def test_the_sweep_handles_sigterm_only_while_it_runs(tmp_path):
    seen = []
    before = signal.getsignal(signal.SIGTERM)
    configs = expand({
        "name": "handler",
        "generations": 2,
        "data": {"kind": "gaussian", "dim": 2},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fresh", "n_real": 50, "n_synthetic": 50},
        "metrics": ["cov_trace"],
    })
    run_sweep(configs, out=tmp_path, backend="local", on_event=lambda e: seen.append(signal.getsignal(signal.SIGTERM)))
    assert seen and all(callable(h) and h not in (before, signal.SIG_DFL) for h in seen)
    with pytest.raises(SystemExit) as stopped:  # what SIGTERM does meanwhile
        seen[0](signal.SIGTERM, None)
    assert stopped.value.code == 143
    assert signal.getsignal(signal.SIGTERM) == before


#: A stand-in worker: ends with ``parent`` by the kernel's signal, or by the watchdog thread.
WORKER = """
import sys, time
from pathlib import Path
from autophagy.runner import executors
if sys.argv[1] == "watchdog":  # as on macOS, or where prctl is refused
    executors._parent_death_signal = lambda signum: False
executors.die_with(int(sys.argv[2]))
Path(sys.argv[3]).touch()
time.sleep(60)
"""

#: Its parent: starts it, then waits to be killed.
PARENT = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], str(os.getpid()), sys.argv[3]])
time.sleep(60)
"""


@pytest.mark.parametrize("mode", ["prctl", "watchdog"])
def test_die_with_ends_a_process_when_its_parent_is_killed(tmp_path, tag, mode):
    ready = tmp_path / "ready"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, WORKER, mode, str(ready)], env={**os.environ, MARKER: tag})
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < deadline and parent.poll() is None, "the worker never got ready"
        time.sleep(0.02)
    assert len(marked(tag)) == 2
    parent.kill()
    parent.wait(timeout=30)
    assert_all_gone(tag)


def test_die_with_a_parent_already_gone_exits_at_once():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)  # reaped: its pid names no process
    code = f"import time; from autophagy.runner.executors import die_with; die_with({gone.pid}); time.sleep(60)"
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 1
