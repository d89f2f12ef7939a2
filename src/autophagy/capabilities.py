"""What a metric needs from a generator, and what a generator provides (seam: metrics declare needs).

A capability is a method (or attribute) of a fitted generator that some metric or engine feature
uses. A metric entry lists its ``needs``; a generator entry its ``provides`` (declared by a
built-in, read off a plug-in's class). A config asking for a metric whose needs its generator
does not provide is refused when it is loaded; the default metrics leave such metrics out.

=================  ===========================================================================
``log_prob``       ``log_prob(x, *, bias) -> (n,)``: likelihood metrics (``loglik_real``,
                   perplexities)
``moments``        ``moments(*, bias) -> (mean (d,), cov (d, d))``: closed-form Gaussian metrics
``state``          ``get_state() -> dict`` and ``set_state(dict) -> self``: resume restores the
                   fitted model (without it, the run refits it from the recorded training data),
                   ``init: warm_start``
``downstream``     ``downstream(rows, alpha)``: the regression metrics' downstream model
``coef``           ``coef_``: a linear labeller's coefficients (``param_error``)
=================  ===========================================================================
"""

from __future__ import annotations

from typing import Any

#: Every capability name, with the attributes that make it.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "log_prob": ("log_prob",),
    "moments": ("moments",),
    "state": ("get_state", "set_state"),
    "downstream": ("downstream",),
    "coef": ("coef_",),
}


def capabilities_of(cls: Any) -> frozenset[str]:
    """The capabilities a generator class (or instance) has, read off its attributes.

    ``coef_`` is learned state, so it counts for a class that declares it in ``__annotations__``
    or has ``downstream`` (a labeller).
    """
    found = {name for name, attributes in CAPABILITIES.items() if all(callable(getattr(cls, a, None)) for a in attributes)}
    if "downstream" in found or "coef_" in getattr(cls, "__annotations__", {}):
        found.add("coef")
    return frozenset(found)


def missing(needs: frozenset[str], provides: frozenset[str] | None) -> list[str]:
    """The needs not provided, sorted; none when ``provides`` is unknown (None)."""
    return [] if provides is None else sorted(needs - provides)
