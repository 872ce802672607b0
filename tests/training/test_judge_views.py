"""The judge's ensemble: validation scored with several views of each pair averaged (utils.models.ensemble), as the
video command's ``--ensemble`` makes its frames."""

from __future__ import annotations

import keras
import numpy as np

from utils import flow
from utils.training import judge


def validation_set(count=4, height=16, width=24):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (count, 3, height, width, 3), dtype=np.uint8)
    times = np.array([0.25, 0.5, 0.75, 0.5][:count], np.float32)
    flows = np.stack([flow.time_channels(flow.dis_flows(f[0], f[2]), t) for f, t in zip(frames, times)])
    return {"frames": frames, "flows": flows, "times": times, "groups": np.array(["a", "a", "b", "b"][:count])}


def network(symmetric: bool) -> keras.Model:
    """A stand-in time model: the blend (1 - t) A + t B (the same frame from every view), or frame A alone."""
    inputs = keras.Input((None, None, 11))
    if symmetric:
        t = inputs[..., 10:11]
        output = (1.0 - t) * inputs[..., 0:3] + t * inputs[..., 3:6]
    else:
        output = inputs[..., 0:3]
    return keras.Model(inputs, output)


def test_views_of_a_symmetric_network_change_nothing_and_of_an_asymmetric_one_average():
    validation = judge.Validation(validation_set(), True)
    blend = network(symmetric=True)
    one = validation.psnrs(blend)
    for views in (2, 4):
        np.testing.assert_allclose(validation.psnrs(blend, views=views), one, atol=1e-4)
    first = network(symmetric=False)  # frame A; reversed in time it answers frame B: two views average them
    average = (validation.inputs[..., 0:3] + validation.inputs[..., 3:6]) / 2
    np.testing.assert_allclose(validation.psnrs(first, views=2), judge.psnr_per_image(validation.target, average),
                               atol=1e-4)
    np.testing.assert_allclose(validation.psnrs(first, views=4), validation.psnrs(first, views=2), atol=1e-4)
    assert np.abs(validation.psnrs(first) - validation.psnrs(first, views=2)).max() > 0.1
