"""The UNet, the losses and the metrics, against references."""

from __future__ import annotations

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import structural_similarity

from utils import flow, profiles
from utils.models import baselines, interpolator, losses, surgery, unet


@pytest.mark.parametrize("height,width", [(37, 61), (64, 64), (15, 200), (101, 33)])
def test_any_frame_size(height, width):
    model = unet.build_unet(base_filters=4, depth=4)
    output = model(np.zeros((2, height, width, 6), np.float32))
    assert output.shape == (2, height, width, 3)


def test_original_configuration():
    model = unet.build_unet()  # 32..512 filters, 5 levels
    conv_filters = [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert conv_filters[:10:2] == [32, 64, 128, 256, 512]
    assert conv_filters[-1] == 3 and model.count_params() == 7_847_587
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 4


def test_residual_head_starts_at_blending():
    inputs = np.random.default_rng(0).random((1, 24, 40, 6), dtype=np.float32)
    output = unet.build_unet(4, 3, "residual")(inputs)
    np.testing.assert_allclose(output, 0.5 * (inputs[..., :3] + inputs[..., 3:]), atol=1e-6)


def test_save_and_load_round_trip(tmp_path):

    model = unet.build_unet(4, 3, "residual")
    correction = model.get_layer("correction")
    correction.set_weights([w + 0.01 for w in correction.get_weights()])
    inputs = np.random.default_rng(1).random((1, 20, 28, 6), dtype=np.float32)
    model.save(tmp_path / "m.keras")
    loaded = interpolator.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(inputs), model(inputs), atol=1e-6)


@pytest.mark.parametrize("dtype,tolerance", [(tf.float32, 1e-6), (tf.bfloat16, 2e-2)])
def test_upsampling_equals_bilinear_resize_with_its_gradient(dtype, tolerance):
    """Upsample2x (16-bit inputs read as they are, gradient computed in float32) against tf.image.resize in float32."""
    images = tf.random.stateless_uniform((2, 5, 7, 3), (1, 2))
    weights = tf.random.stateless_uniform((2, 10, 14, 3), (3, 4))

    def loss_and_gradient(function, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.cast(function(x), tf.float32) * weights)
        return loss, tape.gradient(loss, x)

    reference = loss_and_gradient(lambda x: tf.image.resize(x, (10, 14), method="bilinear"), images)
    ours = loss_and_gradient(unet.Upsample2x(), tf.cast(images, dtype))
    assert ours[1].dtype == dtype
    np.testing.assert_allclose(float(ours[0]), float(reference[0]), rtol=tolerance)
    np.testing.assert_allclose(tf.cast(ours[1], tf.float32).numpy(), reference[1].numpy(), atol=tolerance)


def test_interpolate_checks_sizes():
    method = interpolator.model_method(unet.build_unet(4, 2, "residual"))
    frame = np.zeros((10, 12, 3), np.uint8)
    assert method(frame, frame).shape == (10, 12, 3)
    with pytest.raises(ValueError, match="one size"):
        method(frame, np.zeros((10, 13, 3), np.uint8))


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="output_mode 'sideways'.*direct, residual, flow"):
        unet.build_unet(output_mode="sideways")
    with pytest.raises(ValueError, match="depth >= 1"):
        unet.build_unet(depth=0)


def test_losses_on_known_inputs():
    truth = tf.fill((2, 16, 16, 3), 0.5)  # SSIM needs at least its 11x11 window
    offset = truth + 0.1
    np.testing.assert_allclose(losses.mse_loss(truth, offset), [0.01, 0.01], rtol=1e-5)
    np.testing.assert_allclose(losses.charbonnier_loss(truth, offset), [np.sqrt(0.01 + 1e-6)] * 2, rtol=1e-5)
    np.testing.assert_allclose(losses.charbonnier_loss(truth, truth), [1e-3] * 2, rtol=1e-5)
    # Flat images: SSIM is the luminance term (2 mu1 mu2 + C1) / (mu1^2 + mu2^2 + C1).
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * 0.5 * 0.6 + c1) / (0.25 + 0.36 + c1)
    # The moments are taken around each image's mean: no float32 cancellation on flat images (tf.image.ssim,
    # which computes E[x^2] - mean^2 directly, is 1.6e-4 off here).
    np.testing.assert_allclose(losses.ssim_loss(truth, offset), [1 - expected] * 2, atol=2e-6)
    np.testing.assert_allclose(losses.ssim_loss(truth, truth), [0.0, 0.0], atol=1e-6)


def test_psnr_loss_is_minus_the_psnr_and_weighs_each_image_as_the_metric_does():
    truth = tf.fill((2, 16, 16, 3), 0.5)
    prediction = truth + tf.constant([0.01, 0.1])[:, None, None, None]  # 40 dB and 20 dB
    np.testing.assert_allclose(losses.psnr_loss(truth, prediction, floor=0.0), -losses.psnr(truth, prediction),
                               atol=1e-3)
    errors = np.array([1e-4, 1e-2]) + losses.PSNR_LOSS_FLOOR
    np.testing.assert_allclose(losses.psnr_loss(truth, prediction), 10 * np.log10(errors), atol=1e-3)
    np.testing.assert_allclose(losses.psnr_loss(truth, truth), [-50.0, -50.0], atol=1e-4)  # the floor: 1e-5
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(prediction)
        by_error, by_decibel = tf.reduce_mean(losses.mse_loss(truth, prediction)), \
            tf.reduce_mean(losses.psnr_loss(truth, prediction))
    per_image = [np.abs(tape.gradient(loss, prediction).numpy()).mean(axis=(1, 2, 3)) for loss in (by_error, by_decibel)]
    assert per_image[0][1] == pytest.approx(10 * per_image[0][0], rel=1e-4)  # MSE: the 20 dB image pulls 10x harder
    # PSNR: the MSE's gradient over each image's own error, so a dB costs the same on both (but for the floor)
    assert per_image[1][0] / per_image[1][1] == pytest.approx(errors[1] / (10 * errors[0]), rel=1e-3)
    assert losses.get_loss("psnr") is losses.psnr_loss and "psnr" not in losses.LOSSES  # long runs only


def test_ssim_matches_scikit_image():
    rng = np.random.default_rng(0)
    truth = rng.random((40, 52, 3)).astype(np.float32)
    for noise in (0.01, 0.1, 0.3):
        other = np.clip(truth + rng.normal(0, noise, truth.shape), 0, 1).astype(np.float32)
        reference = structural_similarity(truth, other, gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False, data_range=1.0, channel_axis=-1)
        assert float(losses.ssim(truth[None], other[None])[0]) == pytest.approx(reference, abs=1e-4)


def test_psnr_by_hand():
    rng = np.random.default_rng(1)
    truth = rng.random((1, 16, 16, 3)).astype(np.float32)
    other = np.clip(truth + rng.normal(0, 0.05, truth.shape), 0, 1).astype(np.float32)
    by_hand = 10 * np.log10(1.0 / np.mean((truth - other) ** 2))
    assert float(losses.psnr(truth, other)[0]) == pytest.approx(by_hand, abs=1e-3)
    # Predictions are clipped to the valid range before scoring.
    assert float(losses.psnr(truth, other + 5.0)[0]) == pytest.approx(float(losses.psnr(truth, np.ones_like(truth))[0]))


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="Unknown loss 'l1'.*mse, charbonnier, ssim, psnr"):
        losses.get_loss("l1")
    with pytest.raises(ValueError, match="Unknown profile 'huge'.*default, full, smoke"):
        profiles.get_profile("huge")


def test_full_profile_is_the_original_configuration():
    full = profiles.get_profile("full")
    assert (full.base_filters, full.depth, full.crop_size, full.batch_size, full.output_mode) == (
        32, 5, (256, 448), 32, "direct")


def test_separable_ssim_equals_tensorflow_ssim():
    rng = np.random.default_rng(3)
    truth = rng.random((2, 37, 45, 3)).astype(np.float32)
    other = np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1).astype(np.float32)
    expected = tf.image.ssim(truth, other, max_val=1.0, filter_size=11, filter_sigma=1.5)
    np.testing.assert_allclose(losses.ssim(truth, other), expected, atol=1e-5)
    # the loss's gradient is the same as well (it is what training follows)
    variable = tf.Variable(other)
    gradients = []
    for function in (losses.ssim, lambda a, b: tf.image.ssim(a, b, max_val=1.0, filter_size=11, filter_sigma=1.5)):
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(function(truth, variable))
        gradients.append(tape.gradient(value, variable))
    assert float(tf.reduce_max(tf.abs(gradients[1]))) > 1e-3  # per-pixel gradients are ~1e-4 to 1e-3
    np.testing.assert_allclose(gradients[0], gradients[1], atol=1e-7)


def _moving_pair(size=(48, 64), shift=(3, 5)):
    """Two uint8 frames of a smooth texture, the second moved by ``shift`` (rows, columns)."""
    rng = np.random.default_rng(1)
    texture = keras.ops.convert_to_numpy(tf.image.resize(rng.random((1, 12, 16, 3)), (size[0] + 16, size[1] + 16)))[0]
    texture = (np.clip(texture, 0, 1) * 255).astype(np.uint8)
    first = texture[8:8 + size[0], 8:8 + size[1]]
    second = texture[8 + shift[0]:8 + shift[0] + size[0], 8 + shift[1]:8 + shift[1] + size[1]]
    return np.ascontiguousarray(first), np.ascontiguousarray(second)


def test_time_prior_is_the_numpy_intermediate_flows():

    rng = np.random.default_rng(0)
    raw = rng.normal(0, 3, (1, 8, 9, 11)).astype(np.float32)
    raw[..., 10] = 0.3
    layout = unet.TimePrior()(raw).numpy()
    expected = flow.intermediate_flows(raw[0, ..., 6:8], raw[0, ..., 8:10], 0.3)
    np.testing.assert_allclose(layout[0, ..., 6:10], expected, atol=1e-5)
    np.testing.assert_array_equal(layout[0, ..., 10], raw[0, ..., 10])


@pytest.mark.parametrize("t", [0.25, 0.5, 0.75])
def test_untrained_time_model_is_dis_at_any_time(t):

    frame1, frame3 = _moving_pair()
    network = unet.build_flow_unet(4, 2, time_input=True, flow_update=False)
    prediction = np.clip(network(interpolator.model_inputs(frame1, frame3, 11, t)).numpy()[0], 0, 1)
    assert np.abs(prediction - baselines.dis_interpolate(frame1, frame3, t)).mean() < 2e-3


def test_warm_started_time_model_is_the_flow_model_at_one_half_and_survives_saving(tmp_path):
    frame1, frame3 = _moving_pair()
    donor = unet.build_flow_unet(4, 3, mask_gain=16.0, flow_update=False, initializer="he_normal")
    heads = donor.get_layer("heads")
    rng = np.random.default_rng(2)
    heads.set_weights([rng.normal(0, 0.05, w.shape).astype(np.float32) for w in heads.get_weights()])
    network = unet.build_flow_unet(4, 3, mask_gain=16.0, flow_update=False, time_input=True)
    surgery.warm_start_model(network, donor)
    expected = donor(interpolator.model_inputs(frame1, frame3, 10)).numpy()
    np.testing.assert_allclose(network(interpolator.model_inputs(frame1, frame3, 11, 0.5)).numpy(), expected, atol=1e-5)
    assert network.get_layer("down0_conv1").get_weights()[0].shape[2] == 21  # 16 features + t + 4 disagreement
    path = tmp_path / "time.keras"
    network.save(path)
    loaded = keras.models.load_model(path, compile=False)
    quarter = interpolator.model_inputs(frame1, frame3, 11, 0.25)
    np.testing.assert_allclose(loaded(quarter).numpy(), network(quarter).numpy(), atol=1e-6)
    assert unet.input_channels(loaded) == 11
    with pytest.raises(ValueError, match="warm start"):
        surgery.warm_start_model(network, unet.build_flow_unet(8, 3, flow_update=False))


def test_flow_correction_head_warm_starts_as_the_model_without_it():
    frame1, frame3 = _moving_pair()
    donor = unet.build_flow_unet(4, 3, mask_gain=16.0, flow_update=False, time_input=True)
    rng = np.random.default_rng(3)
    for name in ("heads", "down0_conv1"):
        layer = donor.get_layer(name)
        layer.set_weights([rng.normal(0, 0.05, w.shape).astype(np.float32) for w in layer.get_weights()])
    network = unet.build_flow_unet(4, 3, mask_gain=16.0, flow_update=True, time_input=True)
    surgery.warm_start_model(network, donor)
    for t in (0.25, 0.5):
        inputs = interpolator.model_inputs(frame1, frame3, 11, t)
        np.testing.assert_allclose(network(inputs).numpy(), donor(inputs).numpy(), atol=1e-5)
    kernel = network.get_layer("heads").get_weights()[0]
    assert kernel.shape[-1] == 8 and not kernel[..., :4].any()  # the flow correction starts at zero
    with pytest.raises(ValueError, match="heads"):  # a correction cannot be dropped, nor the mask's gain change
        surgery.warm_start_model(unet.build_flow_unet(4, 3, mask_gain=16.0, flow_update=False, time_input=True),
                                   network)
    with pytest.raises(ValueError, match="mask gain"):
        surgery.warm_start_model(unet.build_flow_unet(4, 3, mask_gain=4.0, time_input=True), donor)


def test_a_level_deeper_warm_starts_as_the_donor_and_then_sees_its_new_level():
    frame1, frame3 = _moving_pair()
    donor = unet.build_flow_unet(4, 3, mask_gain=16.0, time_input=True)
    layer = donor.get_layer("heads")
    layer.set_weights([np.random.default_rng(4).normal(0, 0.05, w.shape).astype(np.float32) for w in layer.get_weights()])
    network = unet.build_flow_unet(4, 4, mask_gain=16.0, time_input=True)
    surgery.warm_start_model(network, donor)
    assert (surgery.unet_depth(network), surgery.unet_depth(donor)) == (4, 3)
    inputs = interpolator.model_inputs(frame1, frame3, 11, 0.25)
    np.testing.assert_allclose(network(inputs).numpy(), donor(inputs).numpy(), atol=1e-5)
    assert network.get_layer("down3_conv2").get_weights()[0].any()  # the new bottom keeps its random start
    kernel, bias = network.get_layer("dec2_conv1").get_weights()  # ... and enters where training moves these zeros
    kernel[:, :, :32] = np.random.default_rng(5).normal(0, 0.05, kernel[:, :, :32].shape)
    network.get_layer("dec2_conv1").set_weights([kernel, bias])
    assert np.abs(network(inputs).numpy() - donor(inputs).numpy()).max() > 1e-4
    with pytest.raises(ValueError, match="one level at most"):
        surgery.warm_start_model(unet.build_flow_unet(4, 5, mask_gain=16.0, time_input=True), donor)


@pytest.mark.parametrize("cost_radius", [0, 1])
def test_a_wider_model_warm_starts_as_the_narrower_donor(cost_radius):
    frame1, frame3 = _moving_pair()
    donor = unet.build_flow_unet(4, 3, mask_gain=16.0, time_input=True)
    rng = np.random.default_rng(9)
    for layer in donor.layers:  # a donor whose every weight matters (its heads are not zero)
        if layer.weights:
            layer.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in layer.get_weights()])
    network = unet.build_flow_unet(8, 3, mask_gain=16.0, time_input=True, cost_radius=cost_radius)
    surgery.warm_start_model(network, donor)
    assert (surgery.unet_width(network), surgery.unet_width(donor)) == (8, 4)
    inputs = interpolator.model_inputs(frame1, frame3, 11, 0.25)
    np.testing.assert_allclose(network(inputs).numpy(), donor(inputs).numpy(), atol=1e-5)
    # dec1_conv1 joins the upsampled bottom (32 channels, the donor's 16 first) and the skip (16, the donor's 8 first):
    kernel, bias = network.get_layer("dec1_conv1").get_weights()
    assert kernel.shape[2:] == (48, 8 * 2) and not kernel[:, :, 16:32, :8].any() and not kernel[:, :, 40:, :8].any()
    assert kernel[:, :, :, 8:].any()  # the new channels keep their random start; they enter the donor's through zeros
    kernel[:, :, 40:, :8] = rng.normal(0, 0.1, kernel[:, :, 40:, :8].shape)
    network.get_layer("dec1_conv1").set_weights([kernel, bias])
    assert np.abs(network(inputs).numpy() - donor(inputs).numpy()).max() > 1e-4
    with pytest.raises(ValueError, match="narrower"):
        surgery.warm_start_model(donor, network)
    with pytest.raises(ValueError, match="mask gain"):  # a wider model must start as its donor: same blend
        surgery.warm_start_model(unet.build_flow_unet(8, 3, mask_gain=4.0, time_input=True), donor)


def test_time_model_sees_where_the_two_dis_flows_disagree():
    """Consistent flows give zero disagreement features; flows that do not invert each other do not."""
    raw = np.zeros((1, 16, 16, 11), np.float32)
    raw[..., 6] = 4.0   # F_1->3: 4 px right everywhere
    raw[..., 8] = -4.0  # F_3->1: back, consistent
    raw[..., 10] = 0.5
    features = unet.TimePriorFeatures()([unet.TimePrior()(raw), raw]).numpy()
    assert features.shape[-1] == 21
    np.testing.assert_allclose(features[..., 16], 0.0)  # 2 t - 1
    np.testing.assert_allclose(features[..., 17:], 0.0, atol=1e-6)
    raw[..., 8] = 0.0  # frame 3 claims nothing moved: the two flows disagree by 4 px
    features = unet.TimePriorFeatures()([unet.TimePrior()(raw), raw]).numpy()
    assert np.abs(features[0, 4:12, 4:12, 17] * unet.FLOW_SCALE).min() == pytest.approx(4.0)


def test_cost_volume_is_lowest_at_the_motion_the_prior_missed():
    """Frame 3 is frame 1 moved 8 px right and 4 px down; the prior says nothing moved: the cost is lowest at the
    change of motion d = (2, 1) (1/4-resolution pixels), at t = 1/2 and at t = 1/4; with the true flows, at d = 0."""
    rng = np.random.default_rng(6)
    texture = cv2.resize(rng.random((12, 18, 3)).astype(np.float32), (144, 96), interpolation=cv2.INTER_CUBIC)
    frame1, frame3 = texture[8:72, 8:136], texture[4:68, 0:128]
    layer = unet.CostVolume(3)
    offsets = layer.offsets()
    assert offsets.shape == (49, 2) and offsets[24].tolist() == [0.0, 0.0]
    for t in (0.5, 0.25):
        layout = np.zeros((1, 64, 128, 11), np.float32)
        layout[..., 0:3], layout[..., 3:6], layout[..., 10] = frame1, frame3, t
        cost = layer(layout).numpy()
        assert cost.shape == (1, 16, 32, 49)
        best = offsets[cost[0, 4:12, 4:28].argmin(-1)]  # away from the edges that warping repeats
        assert (np.abs(best - [2.0, 1.0]).max(-1) == 0).mean() > 0.9
        layout[..., 6:8] = -t * np.array([8.0, 4.0])  # the true F_t->1 and F_t->3: nothing left to find
        layout[..., 8:10] = (1.0 - t) * np.array([8.0, 4.0])
        assert (layer(layout).numpy()[0, 4:12, 4:28].argmin(-1) == 24).mean() > 0.9


def test_a_cost_volume_warm_starts_as_the_model_without_it_and_survives_saving(tmp_path):
    frame1, frame3 = _moving_pair()
    donor = unet.build_flow_unet(4, 3, mask_gain=16.0, time_input=True)
    layer = donor.get_layer("heads")
    layer.set_weights([np.random.default_rng(7).normal(0, 0.05, w.shape).astype(np.float32) for w in layer.get_weights()])
    network = unet.build_flow_unet(4, 3, mask_gain=16.0, time_input=True, cost_radius=2)
    surgery.warm_start_model(network, donor)
    kernel = network.get_layer("down2_conv1").get_weights()[0]
    assert kernel.shape[2] == 8 + 25 and not kernel[:, :, 8:].any()  # the 25 costs enter through zero weights
    inputs = interpolator.model_inputs(frame1, frame3, 11, 0.25)
    np.testing.assert_allclose(network(inputs).numpy(), donor(inputs).numpy(), atol=1e-5)
    kernel[:, :, 8:] = np.random.default_rng(8).normal(0, 0.05, kernel[:, :, 8:].shape)
    network.get_layer("down2_conv1").set_weights([kernel, network.get_layer("down2_conv1").get_weights()[1]])
    assert np.abs(network(inputs).numpy() - donor(inputs).numpy()).max() > 1e-4  # ... which training moves
    network.save(tmp_path / "cost.keras")
    loaded = keras.models.load_model(tmp_path / "cost.keras", compile=False)
    np.testing.assert_allclose(loaded(inputs).numpy(), network(inputs).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="needs depth > 2"):
        unet.build_flow_unet(4, 2, cost_radius=3)
    with pytest.raises(ValueError, match="cost_radius >= 0"):
        unet.build_flow_unet(4, 3, cost_radius=-1)


def test_loss_names_without_tensorflow_are_the_losses():
    """pipeline.LOSS_NAMES (used by --help and --loss choices before TensorFlow loads) names every loss."""

    assert tuple(losses.LOSSES) == profiles.LOSS_NAMES
    assert tuple(losses.LONG_RUN_LOSSES) == profiles.LONG_RUN_LOSS_NAMES
