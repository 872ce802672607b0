"""Notebooks 02 and 03: the UNets and their layers (:mod:`.unet`), backward warping (:mod:`.warp`), warm starts by
weight surgery (:mod:`.surgery`), the losses (:mod:`.losses`), the classical baselines (:mod:`.baselines`),
tiled inference (:mod:`.tiling`), figures of what the network computes (:mod:`.inspection`), and the one
:class:`~utils.models.interpolator.Method` with its one loader (:mod:`.interpolator`)."""
