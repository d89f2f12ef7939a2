"""Monitor a training loop of your own: metrics of its samples against a fixed real reference,
written to the run store as a run's rows, with a :class:`~autophagy.exceptions.CollapseWarning`
when they drift beyond sampling noise.

- :mod:`.monitor`: :class:`Monitor` (the class, thin) and :class:`Alert` (when it warns);
- :mod:`.reference`: the reference's cached statistics and the sample metrics against them;
- :mod:`.band`: the bootstrap noise band and the out-of-band runs (pure functions);
- :mod:`.embed`: vectors, images and texts to features;
- :mod:`.record`: the monitor's run directory (journal, status, resume);
- :mod:`.integrations`: :class:`LightningMonitorCallback` and :class:`HFMonitorCallback`
  (built on first access; the optional extra ``integrations``).
"""

from typing import Any

from autophagy.monitor.monitor import Alert, Monitor


def __getattr__(name: str) -> Any:
    if name in ("LightningMonitorCallback", "HFMonitorCallback"):  # no framework imported before
        from autophagy.monitor import integrations

        return getattr(integrations, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Alert", "HFMonitorCallback", "LightningMonitorCallback", "Monitor"]
