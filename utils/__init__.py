"""Shared code for the frame-interpolation tutorial.

The notebooks in ``notebooks/`` stay short and narrative; everything they
rely on lives here, one module per concern:

- :mod:`utils.paths`     where the repository, data and results live
- :mod:`utils.profiles`  the ``smoke`` / ``default`` / ``full`` run sizes
- :mod:`utils.data`      Vimeo90K triplet layout, ``tf.data`` pipeline
- :mod:`utils.clips`     real video clips turned into Vimeo-layout triplets
- :mod:`utils.synthetic` synthetic triplets with exact ground truth
- :mod:`utils.model`     the UNet
- :mod:`utils.losses`    MSE, Charbonnier, SSIM losses; PSNR, SSIM metrics
- :mod:`utils.training`  strategy, precision, callbacks, fit, weights
- :mod:`utils.baselines` classical interpolation baselines
- :mod:`utils.evaluation` metrics of every method on held-out triplets
- :mod:`utils.viz`       comparison grids, GIFs, interactive viewer
- :mod:`utils.pipeline`  papermill runner for the numbered notebooks

Modules import TensorFlow lazily so that ``import utils`` stays fast.
"""

__version__ = "0.1.0"
