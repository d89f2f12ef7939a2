"""Neural generator families (PyTorch, the optional extra ``neural``).

Nothing here imports torch at import time: :mod:`autophagy.generators` registers the neural
kinds (``vae``, ``ddpm``, ``gan``) through light config modules, and the torch implementations
(:mod:`.vae`, :mod:`.ddpm`, :mod:`.gan`, :mod:`.features`) load when a generator is built.
Without torch, asking for a neural kind raises :class:`~autophagy.exceptions.MissingExtraError`
with the install command before any work starts.
"""
