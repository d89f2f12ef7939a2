"""Exceptions raised by autophagy.

User errors (a bad config, a bad path, a conflicting run directory) derive from
:class:`AutophagyError`; the CLI turns them into a one-line message and exit code 2.
"""

from __future__ import annotations


class AutophagyError(Exception):
    """Base class of every error autophagy raises on purpose."""


class InvalidParameterError(AutophagyError, ValueError, TypeError):
    """A config key or function argument has a value outside what is allowed.

    The message has one form: ``The 'key' parameter must be <allowed>. Got <value> instead.``
    """


class NotFittedError(AutophagyError, AttributeError):
    """A generator was asked to sample or score before ``fit``."""


class MissingExtraError(AutophagyError, ModuleNotFoundError):
    """An optional dependency is missing; the message names the pip command."""


class RunConflictError(AutophagyError):
    """An output directory already holds a run of a different config."""


class RunBusyError(AutophagyError):
    """Another process holds the run directory's lock (it is computing that run now)."""


class CorruptRunError(AutophagyError):
    """A file of a run directory cannot be read back (names the file)."""


class DegenerateFitError(AutophagyError):
    """A fit produced a non-finite or collapsed model; recorded, not hidden."""


class PrecisionNotReachedError(AutophagyError):
    """A Monte-Carlo calculation cannot reach the asked precision within its budget.

    The message says what was asked, what was reached and with how many repeats.
    """


class RecoveryWarning(UserWarning):
    """A resumed run found rows or state missing and recomputes from its last consistent
    checkpoint (the message names the file and the generation it restarts from)."""


class StatisticalWarning(UserWarning):
    """A result is computed but statistically weak (too few samples, collapsed covariance)."""


class CollapseWarning(UserWarning):
    """A monitored training loop's metrics left the band that sampling noise alone explains
    (:class:`autophagy.Monitor`): the message names the metric, its value against the band's
    edge and the step since which the drift persists."""
