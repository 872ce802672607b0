"""Figures drawn from data and models: occlusion ground truth, flow colours, the UNet drawing, the flow head's outputs."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from utils import data, figures, synthetic
from utils import model as model_lib

matplotlib.use("Agg")


def square_scene(motion=(8.0, 0.0)):
    """A grey background and a 10x10 red square moving right by 8 px from t = 0 to t = 1."""
    background = synthetic.Layer(np.full((40, 60, 3), 0.5, np.float32), np.ones((40, 60), np.float32), (0.0, 0.0),
                                 (0.0, 0.0))
    square = synthetic.Layer(np.tile(np.float32([1, 0, 0]), (10, 10, 1)), np.ones((10, 10), np.float32), (20.0, 15.0),
                             motion)
    return synthetic.Scene((40, 60), [background, square])


def test_visibility_map_knows_what_is_hidden_and_revealed():
    categories = figures.visibility_map(square_scene())
    # At t = 0.5 the square covers x = 24..33. Background just left of it (x = 20..23) was under the square in
    # frame 1 (x = 20..29) and is uncovered in frame 3 (x = 28..37): visible only in frame 3.
    assert (categories[15:25, 20:24] == 2).all()
    # Background just right of it (x = 34..37) is visible in frame 1 and covered in frame 3.
    assert (categories[15:25, 34:38] == 1).all()
    assert (categories[15:25, 24:34] == 0).all() and (categories[:10] == 0).all()
    assert (figures.visibility_map(square_scene((0.0, 0.0))) == 0).all()


def test_flow_colours_white_when_still_and_hue_by_direction():
    still = figures.flow_to_colour(np.zeros((4, 4, 2), np.float32), max_magnitude=1.0)
    assert (still == 255).all()
    right = figures.flow_to_colour(np.tile(np.float32([3, 0]), (4, 4, 1)), max_magnitude=3.0)[0, 0].astype(int)
    left = figures.flow_to_colour(np.tile(np.float32([-3, 0]), (4, 4, 1)), max_magnitude=3.0)[0, 0].astype(int)
    assert np.abs(right - left).sum() > 200  # opposite directions, clearly different colours


def test_unet_drawing_reads_the_levels_from_the_model(tmp_path):
    model = model_lib.build_unet(8, 3, "direct")
    assert figures.unet_levels(model) == [{"level": 0, "down": 8, "up": 8}, {"level": 1, "down": 16, "up": 16},
                                          {"level": 2, "down": 32}]
    figures.unet_figure(model, (64, 96), path=tmp_path / "unet.png")
    assert (tmp_path / "unet.png").stat().st_size > 5000
    import keras

    with pytest.raises(ValueError, match="not a UNet"):
        figures.unet_levels(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))


def test_untrained_flow_head_outputs_are_the_prior_and_an_even_mask(tmp_path):
    from utils import baselines

    model = model_lib.build_flow_unet(4, 2)
    frame1, truth, frame3 = (data.to_uint8(synthetic.render(square_scene(), t)[0]) for t in (0.0, 0.5, 1.0))
    outputs = figures.flow_head_outputs(model, frame1, frame3)
    np.testing.assert_allclose(outputs["flows"], baselines.flow_prior(frame1, frame3), atol=1e-5)
    np.testing.assert_allclose(outputs["mask"], 0.5)
    figures.flow_mask_figure({"square": (frame1, truth, frame3)}, model, path=tmp_path / "flow.png")
    assert (tmp_path / "flow.png").stat().st_size > 5000
    with pytest.raises(ValueError, match="not a flow-guided UNet"):
        figures.flow_head_outputs(model_lib.build_unet(4, 2, "residual"), frame1, frame3)


def test_flow_head_outputs_rebuild_the_prediction():
    """With trained-looking (random) heads, the reported flows and mask are what the model blended by."""
    from utils import baselines

    model = model_lib.build_flow_unet(4, 2, residual=False, mask_gain=4.0)
    heads = model.get_layer("heads")
    rng = np.random.default_rng(3)
    heads.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in heads.get_weights()])
    frame1, _, frame3 = (data.to_uint8(synthetic.render(square_scene(), t)[0]) for t in (0.0, 0.5, 1.0))
    outputs = figures.flow_head_outputs(model, frame1, frame3)
    assert np.abs(outputs["flows"] - baselines.flow_prior(frame1, frame3)).max() > 0.1
    assert outputs["mask"].std() > 0.01
    warped_1 = baselines.backward_warp(data.to_float(frame1), outputs["flows"][..., :2])
    warped_3 = baselines.backward_warp(data.to_float(frame3), outputs["flows"][..., 2:])
    mask = outputs["mask"][..., None]
    np.testing.assert_allclose(np.clip(mask * warped_1 + (1 - mask) * warped_3, 0, 1), outputs["prediction"],
                               atol=3e-3)  # OpenCV's remap keeps 5 bits of sub-pixel position


def test_header_is_four_labelled_panels():
    frame = np.zeros((40, 60, 3), np.uint8)
    header = figures.header_image(frame, frame, data.to_float(frame), width=60)
    assert header.dtype == np.uint8 and header.shape[1] >= 4 * 60


def test_long_run_and_probe_curves_are_drawn_from_run_states(tmp_path):
    def state(gains, baseline):
        return {"step": 400 * (len(gains) - 1), "baselines": {"dis": 34.0, "average": 30.0},
                "history": [{"step": 400 * k, "cpu_hours": 0.05 * k, "val_psnr": baseline + g,
                             "train_loss": None if k == 0 else 0.02 - 0.001 * k} for k, g in enumerate(gains)]}

    figure = figures.longrun_curves({"flow": state([0, 0.05, 0.1], 34.0), "unet": state([0, 0.5, 1.2], 30.0)},
                                    path=tmp_path / "curves.png")
    assert len(figure.axes) >= 2 and (tmp_path / "curves.png").stat().st_size > 1000
    lines = figure.axes[1].get_lines()
    assert list(lines[0].get_ydata()) == pytest.approx([0, 0.5, 1.2])  # dB above averaging for the UNet
    slow = state([0, 0.3, 0.6], 30.0)
    for entry in slow["history"]:
        entry["cpu_hours"] *= 10  # ten times the CPU per step: each panel's steps axis must use its own run
    figure = figures.longrun_curves({"flow": state([0, 0.05, 0.1], 34.0), "unet": slow})
    forward = [child._functions[0] for axis in figure.axes for child in axis.child_axes]
    assert [float(f(0.1)) for f in forward] == pytest.approx([800, 80])
    follow = {**state([0.1, 0.2], 34.0), "warm_start": {"weights": "t/flow/best.weights.h5", "step": 800, "cpu_hours": 0.1,
                                                   "cpu_hours_before": 0.5}}
    then = {**state([0.3], 34.0), "warm_start": {"weights": "t/update/best.weights.h5", "step": 400, "cpu_hours": 0.05,
                                                "cpu_hours_before": 0.1 + 0.5}}
    started = {**state([0, 0.05, 0.1], 34.0), "warm_start": {"cpu_hours": 0.5}}  # the panel's run: 0.5 h before it
    figure = figures.longrun_curves({"flow": started}, continuations={"flow": [("update", "corrected", follow), ("deep", "deeper", then)]})
    drawn = figure.axes[0].get_lines()[1:3]  # after the run's own line: the continuations, from where they started
    assert [line.get_label() for line in drawn] == ["corrected (from flow's step 800)", "deeper (from update's step 400)"]
    assert list(drawn[0].get_xdata()) == pytest.approx([0.1, 0.15]) and list(drawn[0].get_ydata()) == pytest.approx([0.1, 0.2])
    assert list(drawn[1].get_xdata()) == pytest.approx([0.15]) and drawn[1].get_color() != drawn[0].get_color()
    figure = figures.probe_curves({"a": state([0, -0.1], 34.0), "b": state([0, 0.1, 0.2], 34.0)}, "dis",
                                  path=tmp_path / "probes.png")
    assert [line.get_label() for line in figure.axes[0].get_lines()][:2] == ["a", "b"]
    many = {f"run {k}": state([0, 0.01 * k], 34.0) for k in range(22)}
    figure = figures.probe_curves({**many, "winner (shipped: step 400)": state([0, 0.3], 34.0)})
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    styles = {(line.get_color(), line.get_linestyle(), line.get_marker()) for label, line in lines.items() if label.startswith("run ")}
    assert len(styles) == 22  # the colour cycle repeats every ten lines, the style does not
    assert lines["winner (shipped: step 400)"].get_color() == "black" and lines["winner (shipped: step 400)"].get_linewidth() > 2
