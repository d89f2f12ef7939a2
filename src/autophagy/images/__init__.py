"""Images: labelled image sets (:mod:`.source`), the VAE, GAN and DDPM families (config and
registration in :mod:`.vae`, :mod:`.gan`, :mod:`.ddpm`; the PyTorch models in ``*_model.py``, loaded
only when a generator is built), the fixed feature network (:mod:`.features`) and the image
metrics (:mod:`.metrics`). Importing this package does not import torch.
"""
