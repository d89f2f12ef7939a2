"""PyTorch machinery shared by the neural families (the optional extra ``neural``): the device
and autocast helpers (:mod:`._torch`), training helpers (:mod:`.base`) and the keys every neural
generator config has (:mod:`.config`). The families themselves live with their modality: the
image models in :mod:`autophagy.images`, the transformer LM in :mod:`autophagy.text`.

Nothing here imports torch at import time; without torch, asking for a neural kind raises
:class:`~autophagy.exceptions.MissingExtraError` with the install command before any work starts.
"""
