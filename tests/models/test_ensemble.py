"""The time model's test-time ensemble (utils.models.ensemble): views of a pair, their inverse, and the rule that
decides how many the video command averages."""

from __future__ import annotations

import numpy as np
import pytest

from utils import flow, paths
from utils.models import ensemble, interpolator, unet


@pytest.fixture(scope="module")
def time_model():
    return interpolator.load_model(paths.resolve(paths.DEFAULT_CHECKPOINT))


def pair(height=32, width=48, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(2))


def moving_pair(height, width, shift):
    """A smooth random texture and the same moved ``shift`` px to the right."""
    rng = np.random.default_rng(2)
    texture = np.kron(rng.integers(0, 256, (height // 4, width // 4 + 2, 3)), np.ones((4, 4, 1))).astype(np.uint8)
    return np.ascontiguousarray(texture[:, 2:2 + width]), np.ascontiguousarray(np.roll(texture, shift, 1)[:, 2:2 + width])


def test_auto_spends_views_only_where_the_frame_is_small_and_whole():
    assert ensemble.passes(176, 144, 1.0) == 4  # 4 x 25,344 pixels is within one 960x540 frame's
    assert ensemble.passes(480, 270, 1.0) == 4 and ensemble.passes(482, 270, 1.0) == 2
    assert ensemble.passes(640, 272, 1.0) == 2 and ensemble.passes(640, 360, 1.0) == 2
    assert ensemble.passes(960, 540, 1.0) == 1
    assert ensemble.passes(1280, 720, 0.5) == 1 and ensemble.passes(176, 144, 0.5) == 1  # a reduced scale: one
    assert ensemble.passes(1280, 720, 0.5, 4) == 4 and ensemble.passes(176, 144, 1.0, "1") == 1
    for bad in (0, 3, "two", 2.5, None):
        with pytest.raises(ValueError, match="--ensemble must be 'auto', 1, 2 or 4"):
            ensemble.check_ensemble(bad)


def test_each_view_undone_by_itself_and_the_reversed_view_is_the_pair_from_b_to_a():
    frame_a, frame_b = pair()
    flows = flow.dis_flows(frame_a, frame_b)
    inputs = interpolator.time_inputs(frame_a, frame_b, flows, 0.3)[None]
    backwards = interpolator.time_inputs(frame_b, frame_a, flows[..., [2, 3, 0, 1]], 0.7)[None]
    np.testing.assert_allclose(ensemble.view_inputs(inputs, 1), backwards, atol=1e-6)
    mirrored = ensemble.view_inputs(inputs, 2)
    np.testing.assert_array_equal(mirrored[0, :, 0, :6], inputs[0, :, -1, :6])
    np.testing.assert_array_equal(mirrored[0, :, 0, 6], -inputs[0, :, -1, 6])  # horizontal flow negated
    np.testing.assert_array_equal(mirrored[0, :, 0, 7], inputs[0, :, -1, 7])
    for view in range(4):
        twice = ensemble.view_inputs(ensemble.view_inputs(inputs, view), view)
        np.testing.assert_allclose(twice, inputs, atol=1e-6)
        a, b = ensemble.view_pair(frame_a, frame_b, view)
        np.testing.assert_array_equal(ensemble.view_pairs(np.concatenate([frame_a, frame_b], -1)[None], view)[0],
                                      np.concatenate([a, b], -1))
    np.testing.assert_array_equal(ensemble.unview(ensemble.view_pair(frame_a, frame_b, 2)[0], 2), frame_a)


def test_two_views_are_the_mean_of_the_pair_and_the_pair_reversed(time_model):
    frame_a, frame_b = pair()
    one = interpolator.model_method(time_model)
    two = interpolator.model_method(time_model, ensemble=2)
    expected = (one.at_time(frame_a, frame_b, 0.3) + one.at_time(frame_b, frame_a, 0.7)) / 2
    np.testing.assert_allclose(two.at_time(frame_a, frame_b, 0.3), expected, atol=1e-5)
    assert np.abs(one.at_time(frame_a, frame_b, 0.3) - expected).max() > 1e-3  # the network is not symmetric


def test_four_views_at_a_reduced_scale_mirror_back(time_model):
    """The mirrored views at half scale compose the mirrored full pair and are flipped back: for a pair mirrored
    left to right, four views give nearly the mirror image of the original's four views (DIS's flows of a mirrored
    smooth texture are nearly the mirrored flows), and not the frame of one view."""
    frame_a, frame_b = moving_pair(96, 128, shift=4)
    method = interpolator.model_method(time_model, scale=0.5, ensemble=4)
    frame = method.at_time(frame_a, frame_b, 0.5)
    mirrored = method.at_time(np.ascontiguousarray(frame_a[:, ::-1]), np.ascontiguousarray(frame_b[:, ::-1]), 0.5)
    assert np.abs(mirrored[:, ::-1] - frame).mean() < 5e-4
    single = interpolator.model_method(time_model, scale=0.5).at_time(frame_a, frame_b, 0.5)
    assert np.abs(single - frame).mean() > 2 * np.abs(mirrored[:, ::-1] - frame).mean()
    assert frame.shape == frame_a.shape and 0 <= frame.min() and frame.max() <= 1


def test_a_model_without_the_time_input_has_no_views():
    model = unet.build_flow_unet(8, 2)
    assert interpolator.model_method(model, ensemble="auto").name
    with pytest.raises(ValueError, match="no time input: --ensemble 2 needs the time model"):
        interpolator.model_method(model, ensemble=2)
