"""The warping layer, the flow-guided UNet and the classical baselines."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from utils import flow
from utils.data import synthetic, vimeo
from utils.media import image_io
from utils.models import baselines, interpolator, losses, unet, warp
from utils.training import fitting


def _texture(height=40, width=56, seed=0):
    return image_io.to_uint8(synthetic.random_texture(np.random.default_rng(seed), height, width))


def test_warp_reproduces_an_exact_shift():
    image = _texture().astype(np.float32)[None] / 255.0
    flow = np.zeros((1, 40, 56, 2), np.float32)
    flow[..., 0], flow[..., 1] = 3.0, -2.0  # sample 3 px to the right and 2 px up
    warped = warp.backward_warp(tf.constant(image), tf.constant(flow)).numpy()
    np.testing.assert_allclose(warped[0, 2:, :-3], image[0, :-2, 3:], atol=1e-6)
    # Off-frame samples take the nearest edge pixel.
    np.testing.assert_allclose(warped[0, 5, -1], image[0, 3, -1], atol=1e-6)


def test_warp_interpolates_half_pixels():
    image = np.arange(6, dtype=np.float32).reshape(1, 1, 6, 1)
    flow = np.zeros((1, 1, 6, 2), np.float32)
    flow[..., 0] = 0.5
    warped = warp.backward_warp(tf.constant(image), tf.constant(flow)).numpy().ravel()
    np.testing.assert_allclose(warped, [0.5, 1.5, 2.5, 3.5, 4.5, 5.0])


def test_warp_matches_opencv_remap():
    image = _texture(33, 47, seed=3).astype(np.float32) / 255.0
    motion = np.random.default_rng(0).normal(0, 4, (33, 47, 2)).astype(np.float32)
    ours = warp.backward_warp(tf.constant(image[None]), tf.constant(motion[None])).numpy()[0]
    np.testing.assert_allclose(ours, flow.warp_frame(image, motion), atol=2e-3)


def test_warp_gradients_flow_to_image_and_flow():
    image = tf.constant(_texture().astype(np.float32)[None] / 255.0)
    flow = tf.Variable(tf.fill((1, 40, 56, 2), 0.3))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(image)
        loss = tf.reduce_mean(warp.backward_warp(image, flow))
    flow_gradient = tape.gradient(loss, flow)
    image_gradient = tape.gradient(loss, image)
    assert float(tf.reduce_sum(tf.abs(flow_gradient))) > 0
    assert float(tf.reduce_sum(image_gradient)) == pytest.approx(1.0, rel=1e-4)  # weights sum to one


def test_warp_gradients_equal_finite_differences():
    """The hand-written gradient (image and flow) against numerical differentiation, in float64 positions."""
    rng = np.random.default_rng(4)
    image = tf.constant(rng.random((2, 6, 7, 3)), tf.float32)
    # flows away from whole pixels (bilinear weights are not differentiable there) and some past the edges
    flow = tf.constant(rng.uniform(-3, 3, (2, 6, 7, 2)).round() + rng.uniform(0.2, 0.8, (2, 6, 7, 2)), tf.float32)
    theoretical, numerical = tf.test.compute_gradient(warp.backward_warp, [image, flow], delta=1e-2)
    for ours, reference in zip(theoretical, numerical):
        assert np.abs(ours).max() > 0.1
        np.testing.assert_allclose(ours, reference, atol=2e-3)


def test_gradient_descent_on_the_flow_finds_the_shift():
    target_image = _texture(32, 32, seed=5).astype(np.float32)[None] / 255.0
    shifted = np.roll(target_image, 2, axis=2)  # content moved 2 px right: sampling at x + 2 undoes it
    flow = tf.Variable(tf.zeros((1, 32, 32, 2)))
    optimizer = tf.keras.optimizers.Adam(0.1)
    for _ in range(60):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(warp.backward_warp(shifted, flow)[:, 4:-4, 4:-4] -
                                         target_image[:, 4:-4, 4:-4]))
        optimizer.apply_gradients([(tape.gradient(loss, flow), flow)])
    assert float(tf.reduce_mean(flow[0, 8:-8, 8:-8, 0])) == pytest.approx(2.0, abs=0.5)


def test_intermediate_flows_for_linear_motion():
    # Everything moves by (6, -4) from frame 1 to frame 3: the middle samples frame 1 at -(3, -2)
    # and frame 3 at +(3, -2).
    flow_13 = np.broadcast_to(np.float32([6, -4]), (5, 7, 2))
    flows = flow.intermediate_flows(flow_13, -flow_13, t=0.5)
    np.testing.assert_allclose(flows[0, 0], [-3, 2, 3, -2])
    at_quarter = flow.intermediate_flows(flow_13, -flow_13, t=0.25)
    np.testing.assert_allclose(at_quarter[0, 0], [-1.5, 1, 4.5, -3])


def test_dis_flows_in_parallel_are_the_same_flows():
    """The video command's two directions at once (two threads) give exactly the sequential flows."""
    frame1, _, frame3 = _panning_triplet()
    sequential = flow.dis_flows(frame1, frame3)
    np.testing.assert_array_equal(flow.dis_flows(frame1, frame3, parallel=True), sequential)
    assert np.abs(sequential).max() > 1.0  # it moved: not two empty fields


def _panning_triplet(shift=4):
    texture = _texture(48, 96, seed=2)
    return texture[:, :64], texture[:, shift // 2:shift // 2 + 64], texture[:, shift:shift + 64]


def test_flow_baselines_beat_averaging_on_a_pan():
    frame1, truth, frame3 = _panning_triplet(6)
    error = {name: np.abs(method(frame1, frame3)[:, 8:-8] - image_io.to_float(truth)[:, 8:-8]).mean()
             for name, method in interpolator.BASELINES.items()}
    assert error["dis"] < 0.5 * error["average"]
    assert error["minterpolate"] < 0.5 * error["average"]


@pytest.mark.parametrize("size", [(37, 61), (48, 64)])
def test_minterpolate_any_size_and_errors(size):
    frame = _texture(*size)
    middle = baselines.minterpolate(frame, frame)
    assert middle.shape == (*size, 3) and middle.dtype == np.float32
    assert np.abs(middle - image_io.to_float(frame)).mean() < 0.02  # a still pair stays still
    with pytest.raises(ValueError, match="one size"):
        baselines.minterpolate(frame, frame[:-1])


def test_untrained_flow_unet_is_the_dis_baseline():
    frame1, _, frame3 = _panning_triplet(6)
    flow_model = unet.build_unet(4, 3, "flow")
    assert unet.input_channels(flow_model) == 10
    np.testing.assert_allclose(interpolator.model_method(flow_model)(frame1, frame3),
                               baselines.dis_interpolate(frame1, frame3), atol=1e-5)
    plain_blend = unet.build_flow_unet(4, 3, residual=False, mask_gain=1.0)
    assert plain_blend.get_layer("heads").filters == 5 and flow_model.get_layer("heads").filters == 8
    assert plain_blend.get_layer("blend").head_names() == ["flow_update", "mask_logit"]
    np.testing.assert_allclose(interpolator.model_method(plain_blend)(frame1, frame3),
                               baselines.dis_interpolate(frame1, frame3), atol=1e-5)


@pytest.mark.parametrize("height,width", [(37, 61), (15, 200)])
def test_flow_unet_any_frame_size(height, width):
    flow_model = unet.build_flow_unet(4, 4)
    assert flow_model(np.zeros((2, height, width, 10), np.float32)).shape == (2, height, width, 3)


def test_flow_unet_saves_loads_and_trains(tmp_path, vimeo_root):
    sources = [(vimeo_root, vimeo.read_triplet_list(vimeo_root, "train"))]
    inputs, target = next(iter(vimeo.make_dataset(sources, 4, (32, 32), seed=0, flow_prior=True)))
    assert inputs.shape == (4, 32, 32, 10)
    flow_model = fitting.build_and_compile("charbonnier", 4, 3, 3e-3, "flow")
    before = float(flow_model.evaluate(inputs, target, verbose=0, return_dict=True)["loss"])
    for _ in range(8):
        flow_model.train_on_batch(inputs, target)
    assert float(flow_model.evaluate(inputs, target, verbose=0, return_dict=True)["loss"]) < before
    flow_model.save(tmp_path / "flow.keras")
    loaded = interpolator.load_model(tmp_path / "flow.keras")
    np.testing.assert_allclose(loaded(inputs), flow_model(inputs), atol=1e-5)


def test_prior_flows_follow_the_augmentation():
    # A pure horizontal pan: after any crop, flip or reversal, warping frame 1 and frame 3 by the
    # augmented prior flows must still rebuild the middle frame.
    frames = tf.constant(np.stack(_panning_triplet(8)))
    _, flows = vimeo._prior_flows(frames)
    for _ in range(12):
        crop, crop_flows = vimeo.augment_triplet(frames, (32, 40), flows)
        crop = tf.cast(crop, tf.float32)[None] / 255.0
        warped_1 = warp.backward_warp(crop[:, 0], crop_flows[None, ..., :2])
        warped_3 = warp.backward_warp(crop[:, 2], crop_flows[None, ..., 2:])
        for warped in (warped_1, warped_3):
            error = float(tf.reduce_mean(tf.abs(warped - crop[:, 1])[:, 6:-6, 6:-6]))
            assert error < 0.03


def test_flow_unet_without_flow_update_blends_the_prior_warps():
    import keras


    network = unet.build_flow_unet(4, 2, flow_update=False)
    assert network.get_layer("blend").head_names() == ["mask_logit", "residual"]
    assert network.get_layer("heads").filters == 4
    rng = np.random.default_rng(0)
    frames = rng.random((1, 16, 24, 6)).astype(np.float32)
    flows = rng.normal(0, 2, (1, 16, 24, 4)).astype(np.float32)
    out = network(np.concatenate([frames, flows], -1)).numpy()
    import tensorflow as tf

    expected = 0.5 * (warp.backward_warp(tf.constant(frames[..., :3]), tf.constant(flows[..., :2]))
                      + warp.backward_warp(tf.constant(frames[..., 3:]), tf.constant(flows[..., 2:])))
    np.testing.assert_allclose(out, expected.numpy(), atol=1e-5)
    restored = keras.models.clone_model(network)
    assert restored.get_layer("blend").flow_update is False


def test_teacher_flows_point_from_the_true_frame_to_each_end_and_teach_where_the_prior_is_wrong():
    frame1, truth, frame3 = _panning_triplet(6)  # the middle samples frame 1 at +3 px and frame 3 at -3 px
    frames = np.stack([frame1, truth, frame3])
    still = np.zeros((48, 64, 4), np.float32)  # a prior that missed the pan
    teacher = flow.teacher_flows(frames, still)
    assert teacher.shape == (48, 64, 6) and teacher.dtype == np.float32
    inner = teacher[8:-8, 8:-8]
    np.testing.assert_allclose(np.median(inner[..., 0:4].reshape(-1, 4), axis=0), [3, 0, -3, 0], atol=0.25)
    assert inner[..., 4:6].mean() > 0.8  # the teacher warps both ends onto the truth, the prior does not
    right = np.broadcast_to(np.float32([3, 0, -3, 0]), (48, 64, 4))
    assert flow.teacher_flows(frames, right)[8:-8, 8:-8, 4:6].max() == 0.0  # nothing to teach where the prior is right
    hidden = truth.copy()
    hidden[16:32, 24:40] = 255  # something in the true frame that neither end shows
    weights = flow.teacher_flows(np.stack([frame1, hidden, frame3]), still)[..., 4:6]
    assert weights[20:28, 28:36].max() == 0.0 and weights[8:-8, 48:56].mean() > 0.8


def test_flow_distillation_adds_the_trusted_flow_distance_in_pixels():
    rng = np.random.default_rng(0)
    frame = rng.random((2, 8, 8, 3)).astype(np.float32)
    teacher = rng.normal(0, 3, (2, 8, 8, 4)).astype(np.float32)
    weights = np.ones((2, 8, 8, 2), np.float32)
    weights[:, :4] = 0.0  # not trusted: whatever the network says there costs nothing
    y_true = np.concatenate([frame, teacher, weights], -1)
    loss = losses.flow_distillation(losses.charbonnier_loss, 0.5)
    exact = np.concatenate([frame, teacher], -1)
    np.testing.assert_allclose(loss(y_true, exact), losses.charbonnier_loss(frame, frame) + 0.5 * 1e-3, rtol=1e-4)
    off = exact.copy()
    off[:, 4:, :, 3:7] += 2.0  # 2 px off where trusted
    off[:, :4, :, 3:7] += 50.0
    np.testing.assert_allclose(loss(y_true, off), losses.charbonnier_loss(frame, frame) + 0.5 * 2.0, rtol=1e-3)


def test_the_flows_view_shares_the_network_and_starts_at_the_prior():
    frame1, _, frame3 = _panning_triplet(6)
    network = unet.build_flow_unet(4, 3, mask_gain=16.0, time_input=True)
    view = unet.with_flows(network)
    inputs = interpolator.model_inputs(frame1, frame3, 11, 0.25)
    joined = view(inputs).numpy()
    assert joined.shape == (1, 48, 64, 7) and len(view.trainable_weights) == len(network.trainable_weights)
    np.testing.assert_allclose(joined[..., :3], network(inputs).numpy(), atol=1e-6)
    dis = flow.dis_flows(frame1, frame3)  # zero heads: the intermediate flows at t = 1/4
    np.testing.assert_allclose(joined[0, ..., 3:], flow.intermediate_flows(dis[..., :2], dis[..., 2:], 0.25), atol=1e-4)
    with pytest.raises(ValueError, match="no flows"):
        unet.with_flows(unet.build_unet(4, 2))
