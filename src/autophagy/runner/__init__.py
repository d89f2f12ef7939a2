"""Runner: one experiment (loop.py) or a grid of them (sweep.py)."""

from autophagy.runner.loop import Result, run, run_dir_for

__all__ = ["Result", "run", "run_dir_for"]
