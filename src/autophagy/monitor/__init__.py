"""Monitor a training loop of your own: metrics of its samples against a fixed real reference,
written to the run store as a run's rows, with a :class:`~autophagy.exceptions.CollapseWarning`
when they drift beyond sampling noise.

- :mod:`.monitor`: :class:`Monitor` (the class, thin) and :class:`Alert` (when it warns);
- :mod:`.reference`: the reference's cached statistics and the sample metrics against them;
- :mod:`.band`: the bootstrap noise band and the out-of-band runs (pure functions);
- :mod:`.embed`: vectors, images and texts to features;
- :mod:`.record`: the monitor's run directory (journal, status, resume).
"""

from autophagy.monitor.monitor import Alert, Monitor

__all__ = ["Alert", "Monitor"]
