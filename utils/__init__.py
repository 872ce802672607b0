"""Shared code for the frame-interpolation tutorial, in wings that follow the notebooks.

- ground floor: :mod:`utils.paths`, :mod:`utils.profiles`, :mod:`utils.quiet`, :mod:`utils.flow` (DIS),
  :mod:`utils.hardware`; imports no wing
- :mod:`utils.media`: images and video in and out, plotting helpers
- :mod:`utils.data` (notebook 01): Vimeo90K layout, clips, synthetic scenes, TFRecords, the corpus and its sampler
- :mod:`utils.models` (02-03): the UNets, warping, warm starts, losses, baselines, the one ``Method`` and loader
- :mod:`utils.training` (04): fit helpers, the long run, its records and curves
- :mod:`utils.evaluation` (05): scores and the evaluation command
- :mod:`utils.video` (06): retiming and the video command
- :mod:`utils.tools`: the notebook runner, the benchmarks, the Colab links

A floor imports only its own and the floors listed before it; ``tests/ground/test_layout.py`` checks it.
"""

__version__ = "0.1.0"
