"""The network at a reduced resolution (utils.models.scaled), bfloat16 inference and several times in one batch."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from utils import flow, paths
from utils.models import baselines, interpolator, scaled, tiling, unet


@pytest.fixture(scope="module")
def time_model():
    return interpolator.load_model(paths.resolve(paths.DEFAULT_CHECKPOINT))


def moving_pair(height=48, width=64, shift=3):
    """A smooth random texture and the same moved ``shift`` px to the right."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (height // 4, width // 4 + 2, 3)).astype(np.float32)
    texture = np.clip(np.kron(small, np.ones((4, 4, 1))), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(texture[:, 2:2 + width]), np.ascontiguousarray(np.roll(texture, shift, 1)[:, 2:2 + width])


def test_auto_scale_follows_the_frame_size():
    assert [scaled.working_scale(w, h) for w, h in ((176, 144), (960, 540), (1280, 720), (1920, 1080),
                                                    (3840, 2160), (7680, 4320))] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]
    assert scaled.working_scale(4000, 20) == 1.0  # never below 12 px on a side: a thin strip stays whole
    assert scaled.working_scale(1280, 720, 0.75) == 0.75
    for bad in (0, -1, 1.5, "half"):
        with pytest.raises(ValueError, match="--scale must be 'auto' or a number in"):
            scaled.check_scale(bad)


def test_compose_moves_by_the_enlarged_flow():
    frame_a, frame_b = moving_pair()
    fields = np.zeros((24, 32, 8), np.float32)  # half size: no motion, an even blend, no residual
    np.testing.assert_allclose(scaled.compose(frame_a, frame_b, fields),
                               (frame_a.astype(np.float32) + frame_b) / 510, atol=1e-6)
    fields[..., 0] = -1.0  # 1 px at half size is 2 px at full size: frame A sampled 2 px to the left
    fields[..., 4] = 30.0  # the mask takes frame A alone
    composed = scaled.compose(frame_a, frame_b, fields)
    np.testing.assert_allclose(composed[:, 2:], frame_a[:, :-2] / 255.0, atol=1e-5)


def test_fields_composed_at_full_size_are_the_model_output(time_model):
    frame_a, frame_b = moving_pair()
    inputs = interpolator.time_inputs(frame_a, frame_b, flow.dis_flows(frame_a, frame_b), 0.3)[None]
    fields = scaled.Fields(time_model)(inputs)[0]
    detail = unet.DETAIL_CHANNELS if any(layer.name == "detail" for layer in time_model.layers) else 0
    assert fields.shape == (48, 64, unet.FIELD_CHANNELS + detail)
    expected = np.clip(np.asarray(time_model(inputs, training=False))[0], 0, 1)
    np.testing.assert_allclose(scaled.compose(frame_a, frame_b, fields), expected, atol=2e-4)


def test_half_scale_is_close_to_full_scale_on_smooth_motion(time_model):
    frame_a, frame_b = moving_pair(96, 128, shift=4)
    full = interpolator.model_method(time_model).at_time(frame_a, frame_b, 0.5)
    half = interpolator.model_method(time_model, scale=0.5).at_time(frame_a, frame_b, 0.5)
    truth = np.roll(frame_a, 2, 1) / 255.0
    inner = (slice(8, -8), slice(12, -12))
    assert np.abs(half - truth)[inner].mean() < 0.03
    assert np.abs(half - full)[inner].mean() < 0.03


def test_tiles_of_fields_match_the_whole(time_model):
    """The 48x64 small grid in two tiles of 48 (12 shared). Tiles of 32 differ by 2e-3 on average, overlap 8 or 12:
    after four poolings such a tile leaves the network 2 px of context, which is its answer, not the stitching."""
    frame_a, frame_b = moving_pair(96, 128, shift=4)
    whole = interpolator.model_method(time_model, scale=0.5).at_time(frame_a, frame_b, 0.5)
    tiled = interpolator.model_method(time_model, tile=48, overlap=12, scale=0.5).at_time(frame_a, frame_b, 0.5)
    assert 0 < np.abs(whole - tiled).mean() < 1e-3  # tiled (not equal) and close


def test_several_times_in_one_batch_equal_one_at_a_time(time_model):
    frame_a, frame_b = moving_pair()
    method = interpolator.model_method(time_model)
    batched = method.at_times(frame_a, frame_b, [0.2, 0.5, 0.8])
    for t, frame in zip((0.2, 0.5, 0.8), batched):
        np.testing.assert_allclose(frame, method.at_time(frame_a.copy(), frame_b.copy(), t), atol=1e-5)
    dis = baselines.dis_at_times(frame_a, frame_b, [0.25, 0.5])
    for t, frame in zip((0.25, 0.5), dis):
        np.testing.assert_array_equal(frame, baselines.dis_interpolate(frame_a, frame_b, t))
    assert interpolator.BASELINES["dis"].at_times is baselines.dis_at_times


def test_a_direct_unet_refuses_a_reduced_scale():
    model = unet.build_unet(4, 2, "residual")
    with pytest.raises(ValueError, match="--scale below 1 needs a flow UNet"):
        interpolator.model_method(model, scale=0.5)
    assert interpolator.model_method(model, scale="auto").name  # auto keeps such a network whole


def test_float32_layers_are_the_ones_the_builders_keep(tmp_path):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        models = [unet.build_flow_unet(8, 3, time_input=True, cost_radius=1), unet.build_flow_unet(8, 2),
                  unet.build_unet(4, 2, "residual"), unet.build_unet(4, 2, "direct")]
    finally:
        keras.config.set_dtype_policy("float32")
    for model in models:
        kept = {layer.name for layer in model.layers
                if layer.dtype_policy.name == "float32" and not isinstance(layer, keras.layers.InputLayer)}
        assert kept and kept <= unet.FLOAT32_LAYERS, kept - unet.FLOAT32_LAYERS
        convolutions = {layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}
        assert len(convolutions - unet.FLOAT32_LAYERS) >= 4  # the body's convolutions run in bfloat16


def test_bfloat16_inference_keeps_the_weights_and_the_float32_ends(time_model):
    fast = unet.with_precision(time_model, "mixed_bfloat16")
    assert unet.with_precision(time_model, "float32") is time_model
    assert {layer.name for layer in fast.layers if layer.dtype_policy.name == "float32"} >= {"pad", "blend", "heads"}
    assert fast.get_layer("heads").dtype_policy.name == "float32"
    assert any(layer.dtype_policy.name == "mixed_bfloat16" for layer in fast.layers)
    for ours, theirs in zip(fast.get_weights(), time_model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    frame_a, frame_b = moving_pair()
    exact = interpolator.model_method(time_model).at_time(frame_a, frame_b, 0.5)
    rounded = interpolator.model_method(time_model, precision="mixed_bfloat16").at_time(frame_a, frame_b, 0.5)
    assert 0 < np.abs(exact - rounded).max() < 0.02


def test_tiled_keeps_any_number_of_channels():
    inputs = np.random.default_rng(0).random((70, 90, 5)).astype(np.float32)
    out = tiling.tiled(lambda x: np.concatenate([x, x[..., :3]], -1), inputs, tile=32, overlap=8)
    np.testing.assert_allclose(out, np.concatenate([inputs, inputs[..., :3]], -1), atol=1e-6)


def test_the_training_view_is_the_network_at_full_size_and_the_command_at_half(time_model):
    """scaled.trainer: with inputs as large as the pair it is the network's own frame; with a shrunk pair's inputs
    it is what the video command composes at --scale 0.5 (before clipping)."""
    view = scaled.trainer(time_model)
    assert view.count_params() == time_model.count_params()  # a view: the same weights, none added
    frame_a, frame_b = moving_pair(96, 128, shift=4)
    pair = np.concatenate([frame_a, frame_b], axis=-1)[None].astype(np.float32) / 255.0
    inputs = interpolator.time_inputs(frame_a, frame_b, flow.dis_flows(frame_a, frame_b), 0.3)[None]
    np.testing.assert_allclose(np.asarray(view([inputs, pair])), np.asarray(time_model(inputs)), atol=1e-5)
    small_a, small_b = (scaled.shrink(f, (64, 48)) for f in (frame_a, frame_b))
    small = interpolator.time_inputs(small_a, small_b, flow.dis_flows(small_a, small_b), 0.3)[None]
    command = interpolator.model_method(time_model, scale=0.5).at_time(frame_a, frame_b, 0.3)
    np.testing.assert_allclose(np.clip(np.asarray(view([small, pair]))[0], 0, 1), command, atol=1e-4)


def test_training_through_the_view_reaches_the_network(time_model):
    """A step on a half-size batch moves the network's own weights (the view shares them) and lowers the loss."""
    network = keras.models.clone_model(time_model)
    network.set_weights(time_model.get_weights())
    view = scaled.trainer(network)
    view.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae")
    frame_a, frame_b = moving_pair(96, 128, shift=4)
    pair = np.concatenate([frame_a, frame_b], axis=-1)[None].astype(np.float32) / 255.0
    small_a, small_b = (scaled.shrink(f, (64, 48)) for f in (frame_a, frame_b))
    small = interpolator.time_inputs(small_a, small_b, flow.dis_flows(small_a, small_b), 0.5)[None]
    target = (np.roll(frame_a, 2, 1) / 255.0)[None].astype(np.float32)
    first = float(view.train_on_batch([small, pair], target))
    for _ in range(5):
        last = float(view.train_on_batch([small, pair], target))
    assert last < first
    assert any(not np.array_equal(a, b) for a, b in zip(network.get_weights(), time_model.get_weights()))


def _rebuilt(time_model, detail_head: bool):
    """The shipped time model's network with or without a detail head, its other weights the shipped ones (a new
    head's weights zero)."""
    from utils.models import surgery

    blend = unet.flow_blend(time_model)
    model = unet.build_flow_unet(surgery.unet_width(time_model), surgery.unet_depth(time_model),
                                 residual=blend.residual, mask_gain=blend.mask_gain, flow_update=blend.flow_update,
                                 time_input=blend.time_input, detail_head=detail_head)
    surgery.warm_start_model(model, time_model)
    return model


def test_a_detail_head_starts_as_the_model_and_never_touches_its_full_size_frame(time_model):
    """Zero weights: the half-size path is the donor's. Trained weights change the half-size frame only: the
    network's own frame, and the training view at full size, stay the donor's."""
    time_model = _rebuilt(time_model, False)  # the donor: no head
    model = _rebuilt(time_model, True)
    assert model.count_params() - time_model.count_params() == 3 * 3 * 16 * unet.DETAIL_CHANNELS + unet.DETAIL_CHANNELS
    frame_a, frame_b = moving_pair(96, 128, shift=4)
    half = interpolator.model_method(time_model, scale=0.5).at_time(frame_a, frame_b, 0.3)
    np.testing.assert_allclose(interpolator.model_method(model, scale=0.5).at_time(frame_a, frame_b, 0.3), half,
                               atol=5e-6)  # two XLA programs against one round differently (2.2e-6 here)
    head = model.get_layer("detail")
    rng = np.random.default_rng(1)
    head.set_weights([0.05 * rng.standard_normal(w.shape).astype(np.float32) for w in head.get_weights()])
    inputs = interpolator.time_inputs(frame_a, frame_b, flow.dis_flows(frame_a, frame_b), 0.3)[None]
    np.testing.assert_array_equal(np.asarray(model(inputs)), np.asarray(time_model(inputs)))
    pair = np.concatenate([frame_a, frame_b], axis=-1)[None].astype(np.float32) / 255.0
    np.testing.assert_allclose(np.asarray(scaled.trainer(model)([inputs, pair])), np.asarray(time_model(inputs)),
                               atol=1e-5)
    moved = interpolator.model_method(model, scale=0.5).at_time(frame_a, frame_b, 0.3)
    assert np.abs(moved - half).max() > 0.01


def test_the_filter_takes_its_taps_from_the_neighbourhood():
    """Weights of sub-pixel (1, 1) on tap 0 (frame A, one pixel up and left) and of sub-pixel (0, 0) on tap 17
    (frame B, one pixel down and right) move those pixels towards those taps, the edges repeated; the filter
    applies only at exactly twice the network's size."""
    import tensorflow as tf

    rng = np.random.default_rng(2)
    frame, warped_a, warped_b = (rng.random((1, 4, 6, 3)).astype(np.float32) for _ in range(3))
    assert unet.DETAIL_CHANNELS == unet.SUB_PIXELS * unet.TAPS == 72
    weights = np.zeros((1, 2, 3, unet.SUB_PIXELS * unet.TAPS), np.float32)
    weights[..., 3 * unet.TAPS + 0] = 1.0
    weights[..., 0 * unet.TAPS + 17] = 0.5
    change = np.asarray(scaled._filtered(*(tf.constant(x) for x in (frame, warped_a, warped_b, weights))))
    expected = np.zeros_like(frame)
    expected[0, 1::2, 1::2] = warped_a[0, 0::2, 0::2] - frame[0, 1::2, 1::2]
    expected[0, 0::2, 0::2] = 0.5 * (warped_b[0, 1::2, 1::2] - frame[0, 0::2, 0::2])
    np.testing.assert_allclose(change, expected, atol=1e-6)
    weights[:] = 0.0
    weights[..., 0 * unet.TAPS + 0] = 1.0  # sub-pixel (0, 0), frame A up and left: the first row and column repeat
    change = np.asarray(scaled._filtered(*(tf.constant(x) for x in (frame, warped_a, warped_b, weights))))
    expected = np.zeros_like(frame)
    expected[0, 0::2, 0::2] = warped_a[0, [0, 1], :][:, [0, 1, 3]] - frame[0, 0::2, 0::2]
    np.testing.assert_allclose(change, expected, atol=1e-6)
    fields = np.zeros((1, 12, 16, unet.FIELD_CHANNELS + unet.DETAIL_CHANNELS), np.float32)
    plain = fields.copy()
    fields[..., unet.FIELD_CHANNELS:] = 0.3
    for height, width, applied in ((24, 32, True), (25, 32, False), (48, 64, False), (12, 16, False)):
        pair = rng.random((1, height, width, 6)).astype(np.float32)
        moved = np.abs(np.asarray(scaled.compose_batch(pair, fields)) - np.asarray(scaled.compose_batch(pair, plain)))
        assert (moved.max() > 1e-3) == applied, (height, width)


def test_a_donor_with_a_detail_head_of_another_layout_gives_a_zero_head(monkeypatch):
    """A warm start from a model whose detail head has another layout (the 2 x 2 block's 32 channels) copies
    everything else and leaves the new head at zero: the model starts as the donor's network."""
    from utils.models import surgery

    def build():
        return unet.build_flow_unet(4, 2, flow_update=True, time_input=True, detail_head=True)

    with monkeypatch.context() as patched:
        patched.setattr(unet, "DETAIL_CHANNELS", 32)
        donor = build()
    rng = np.random.default_rng(3)
    for layer in donor.layers:
        layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    model = build()
    surgery.warm_start_model(model, donor)
    assert model.get_layer("detail").get_weights()[0].shape[-1] == unet.DETAIL_CHANNELS != 32
    assert all(not np.any(w) for w in model.get_layer("detail").get_weights())
    for layer in model.layers:
        if layer.weights and layer.name != "detail":
            for mine, theirs in zip(layer.get_weights(), donor.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(mine, theirs)


def test_compose_takes_a_batch_of_times_and_a_tensor_and_compiles_ahead():
    """A batch of fields (a tensor, as :meth:`scaled.Fields.tensor` gives) makes the list of the frames that each
    of its fields makes alone; :func:`scaled.prepare` compiles a shape once (a future), then answers ``None``."""
    import tensorflow as tf

    rng = np.random.default_rng(4)
    frame_a, frame_b = (rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(2))
    fields = (0.5 * rng.standard_normal((3, 12, 16, unet.FIELD_CHANNELS + unet.DETAIL_CHANNELS))).astype(np.float32)
    compiling = scaled.prepare((24, 32), (12, 16), fields.shape[-1])
    assert compiling is not None and scaled.prepare((24, 32), (12, 16), fields.shape[-1]) is None
    compiling.result()
    frames = scaled.compose(frame_a, frame_b, tf.constant(fields))
    assert isinstance(frames, list) and len(frames) == 3
    for one, frame in zip(fields, frames):
        np.testing.assert_array_equal(frame, scaled.compose(frame_a, frame_b, one))
    assert np.abs(frames[0] - frames[1]).max() > 0.01
