"""autophagy: a laboratory for self-consuming generative training loops.

>>> import autophagy
>>> result = autophagy.run("examples/fully_synthetic_gaussian.yaml")  # doctest: +SKIP
>>> result.metrics.head()  # doctest: +SKIP

The core imports numpy, scipy and pydantic only; scikit-learn, POT, pandas, DuckDB and
matplotlib load inside the functions that use them.
"""

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process (see DESIGN.md)

from autophagy._version import __version__  # noqa: E402
from autophagy.config import ExperimentConfig, load_config  # noqa: E402
from autophagy.exceptions import (  # noqa: E402
    AutophagyError,
    CollapseWarning,
    CorruptRunError,
    DegenerateFitError,
    InvalidParameterError,
    MissingExtraError,
    NotFittedError,
    PrecisionNotReachedError,
    RunBusyError,
    RunConflictError,
    StatisticalWarning,
)
from autophagy.monitor import Monitor  # noqa: E402
from autophagy.plugins import (  # noqa: E402
    PluginWarning,
    register,
    register_data,
    register_generator,
    register_loop,
    register_metric,
)
from autophagy.registry import entries  # noqa: E402
from autophagy.runner.loop import Result, run  # noqa: E402
from autophagy.runner.sweep import sweep  # noqa: E402
from autophagy.store.catalog import catalog, load_metrics, query  # noqa: E402
from autophagy.store.web_pool import load_pool  # noqa: E402

__all__ = [
    "AutophagyError",
    "CollapseWarning",
    "CorruptRunError",
    "DegenerateFitError",
    "ExperimentConfig",
    "InvalidParameterError",
    "MissingExtraError",
    "Monitor",
    "NotFittedError",
    "PluginWarning",
    "PrecisionNotReachedError",
    "Result",
    "RunBusyError",
    "RunConflictError",
    "StatisticalWarning",
    "__version__",
    "catalog",
    "entries",
    "load_config",
    "load_metrics",
    "load_pool",
    "query",
    "register",
    "register_data",
    "register_generator",
    "register_loop",
    "register_metric",
    "run",
    "sweep",
]
