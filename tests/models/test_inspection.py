"""Figures of what a UNet computes: flow colours, the UNet drawing, the flow head's outputs."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from utils import flow
from utils.data import synthetic
from utils.media import image_io
from utils.models import inspection, unet

matplotlib.use("Agg")


def test_flow_colours_white_when_still_and_hue_by_direction():
    still = inspection.flow_to_colour(np.zeros((4, 4, 2), np.float32), max_magnitude=1.0)
    assert (still == 255).all()
    right = inspection.flow_to_colour(np.tile(np.float32([3, 0]), (4, 4, 1)), max_magnitude=3.0)[0, 0].astype(int)
    left = inspection.flow_to_colour(np.tile(np.float32([-3, 0]), (4, 4, 1)), max_magnitude=3.0)[0, 0].astype(int)
    assert np.abs(right - left).sum() > 200  # opposite directions, clearly different colours


def test_unet_drawing_reads_the_levels_from_the_model(tmp_path):
    model = unet.build_unet(8, 3, "direct")
    assert inspection.unet_levels(model) == [{"level": 0, "down": 8, "up": 8}, {"level": 1, "down": 16, "up": 16},
                                          {"level": 2, "down": 32}]
    inspection.unet_figure(model, (64, 96), path=tmp_path / "unet.png")
    assert (tmp_path / "unet.png").stat().st_size > 5000
    import keras

    with pytest.raises(ValueError, match="not a UNet"):
        inspection.unet_levels(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))


def test_untrained_flow_head_outputs_are_the_prior_and_an_even_mask(tmp_path, square_scene):

    model = unet.build_flow_unet(4, 2)
    frame1, truth, frame3 = (image_io.to_uint8(synthetic.render(square_scene(), t)[0]) for t in (0.0, 0.5, 1.0))
    outputs = inspection.flow_head_outputs(model, frame1, frame3)
    np.testing.assert_allclose(outputs["flows"], flow.flow_prior(frame1, frame3), atol=1e-5)
    np.testing.assert_allclose(outputs["mask"], 0.5)
    inspection.flow_mask_figure({"square": (frame1, truth, frame3)}, model, path=tmp_path / "flow.png")
    assert (tmp_path / "flow.png").stat().st_size > 5000
    with pytest.raises(ValueError, match="not a flow-guided UNet"):
        inspection.flow_head_outputs(unet.build_unet(4, 2, "residual"), frame1, frame3)


def test_flow_head_outputs_rebuild_the_prediction(square_scene):
    """With trained-looking (random) heads, the reported flows and mask are what the model blended by."""

    model = unet.build_flow_unet(4, 2, residual=False, mask_gain=4.0)
    heads = model.get_layer("heads")
    rng = np.random.default_rng(3)
    heads.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in heads.get_weights()])
    frame1, _, frame3 = (image_io.to_uint8(synthetic.render(square_scene(), t)[0]) for t in (0.0, 0.5, 1.0))
    outputs = inspection.flow_head_outputs(model, frame1, frame3)
    assert np.abs(outputs["flows"] - flow.flow_prior(frame1, frame3)).max() > 0.1
    assert outputs["mask"].std() > 0.01
    warped_1 = flow.warp_frame(image_io.to_float(frame1), outputs["flows"][..., :2])
    warped_3 = flow.warp_frame(image_io.to_float(frame3), outputs["flows"][..., 2:])
    mask = outputs["mask"][..., None]
    np.testing.assert_allclose(np.clip(mask * warped_1 + (1 - mask) * warped_3, 0, 1), outputs["prediction"],
                               atol=3e-3)  # OpenCV's remap keeps 5 bits of sub-pixel position
