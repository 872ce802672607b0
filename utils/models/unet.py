"""The UNet that turns two frames into the frame between them.

Original configuration: 5 levels with 32, 64, 128, 256, 512 filters, two 3x3 ReLU
convolutions per level, 2x2 max pooling, upsampling with skip concatenation and a
1x1 convolution to 3 channels; input frame 1 and frame 3 stacked as 6 channels.

Three output heads (``output_mode``):

- ``direct``: the original; the last convolution outputs the RGB middle frame.
- ``residual``: a correction added to the average of the two frames.
- ``flow``: the flow-guided UNet. It predicts the two intermediate flows (middle -> frame 1,
  middle -> frame 3) as a correction to classical DIS optical flow, a blend mask and a small
  residual; both frames are backward-warped (:mod:`utils.models.warp`) and blended by the mask. Its input
  has 10 channels: frame 1, frame 3 and the DIS prior flows (see :func:`model_inputs`).

``build_flow_unet(time_input=True)`` is the time-conditioned flow UNet: its 11 input channels are
frame 1, frame 3, DIS's flows in both directions and the time t (a constant plane); it makes the
intermediate flows at t itself (:class:`TimePrior`), sees where the two DIS flows disagree, and its
blend starts from the weights 1 - t and t, so that untrained it is DIS at any t. With ``cost_radius`` it
also reads a matching cost around the prior flows at 1/4 resolution (:class:`CostVolume`).
"""

from __future__ import annotations

import json

import keras
import numpy as np
import tensorflow as tf

from utils import hardware
from utils.models import warp

OUTPUT_MODES = ("direct", "residual", "flow")


FLOW_SCALE = 16.0  # flows enter and leave the network divided by this (pixels -> about unit range)


@keras.saving.register_keras_serializable(package="vfi")
class PadToMultiple(keras.layers.Layer):
    """Mirror-pads height and width up to a multiple of ``multiple`` (bottom and right)."""

    def __init__(self, multiple: int, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, inputs):
        shape = tf.shape(inputs)
        pad_height = (-shape[1]) % self.multiple
        pad_width = (-shape[2]) % self.multiple
        # Mirror padding continues the picture (no dark border for the convolutions to learn);
        # it needs frames at least `multiple - 1` pixels high and wide.
        return tf.pad(inputs, [[0, 0], [0, pad_height], [0, pad_width], [0, 0]], mode="SYMMETRIC")

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="vfi")
class CropToReference(keras.layers.Layer):
    """Crops ``inputs[0]`` to the height and width of ``inputs[1]`` (undoes :class:`PadToMultiple`)."""

    def call(self, inputs):
        image, reference = inputs
        shape = tf.shape(reference)
        return image[:, : shape[1], : shape[2], :]


@keras.saving.register_keras_serializable(package="vfi")
class FrameAverage(keras.layers.Layer):
    """Average of frame 1 and frame 3 from the stacked 6-channel input."""

    def call(self, inputs):
        return 0.5 * (inputs[..., :3] + inputs[..., 3:6])


@keras.saving.register_keras_serializable(package="vfi")
class Upsample2x(keras.layers.Layer):
    """Bilinear 2x upsampling that works with unknown height and width (any frame size)."""

    def call(self, inputs):
        return tf.cast(_resize_2x(inputs), inputs.dtype)


@tf.custom_gradient
def _resize_2x(images):
    """Bilinear 2x resize (half-pixel centres) that reads 16-bit images as they are (output float32).

    Casting bfloat16 inputs to float32 first costs 60% more, forward and backward (about 12 ms of a 250 ms
    mixed_bfloat16 step here). The gradient is computed in float32 and cast to the input's dtype:
    XLA's ResizeBilinearGrad returns float32 for 16-bit images where TensorFlow's returns their dtype,
    and ``jit_compile`` refuses the float32/bfloat16 mix that follows.
    """
    resized = tf.image.resize(images, tf.shape(images)[1:3] * 2, method="bilinear")

    def gradient(upstream):
        # float32 in and out, then cast: the same in TensorFlow and in XLA (only the original's shape is read)
        grads = tf.raw_ops.ResizeBilinearGrad(grads=tf.cast(upstream, tf.float32),
                                              original_image=tf.cast(images, tf.float32),
                                              align_corners=False, half_pixel_centers=True)
        return tf.cast(grads, images.dtype)

    return resized, gradient


def _conv_block(x, filters: int, name: str, initializer: str = "glorot_uniform"):
    for index in (1, 2):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer=initializer,
                                name=f"{name}_conv{index}")(x)
    return x


def _unet_body(x, base_filters: int, depth: int, initializer: str = "glorot_uniform", cost=None):
    """Encoder (conv blocks and 2x2 max pooling) and decoder (upsampling, skip concatenation, conv blocks).

    ``cost`` (a :class:`CostVolume`) joins the pooled features at the input of level :data:`COST_LEVEL`."""
    skips = []
    for level in range(depth):
        if cost is not None and level == COST_LEVEL:
            x = keras.layers.Concatenate(name="with_cost")([x, cost])
        x = _conv_block(x, base_filters * 2**level, f"down{level}", initializer)
        if level < depth - 1:
            skips.append(x)
            x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)
    for level in reversed(range(depth - 1)):
        x = Upsample2x(name=f"up{level}")(x)
        x = keras.layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _conv_block(x, base_filters * 2**level, f"dec{level}", initializer)
    return x


def _warp_both(frames, flows):
    """Frame 1 warped by ``flows[..., 0:2]`` and frame 3 by ``flows[..., 2:4]`` (frames: the first 6 channels)."""
    return (warp.backward_warp(frames[..., 0:3], flows[..., 0:2]),
            warp.backward_warp(frames[..., 3:6], flows[..., 2:4]))


@tf.function(jit_compile=True)
def _blend(mask_logit, warped_1, warped_3):
    """``m W1 + (1 - m) W3`` with ``m = sigmoid(logit)``: one fused XLA loop instead of a pass per operation."""
    return warped_3 + tf.sigmoid(mask_logit) * (warped_1 - warped_3)


HEAD_CHANNELS = {"flow_update": 4, "mask_logit": 1, "residual": 3}

FIELD_CHANNELS = 8  # what the frame is made from: two flows (4), the mask logit (1), the RGB residual (3)
SUB_PIXELS = 4  # a pixel of the network's grid covers 2 x 2 pixels of a frame twice its size
NEIGHBOURS = 9  # the 3 x 3 neighbourhood of each of those pixels
TAPS = 2 * NEIGHBOURS  # in both warped frames
DETAIL_CHANNELS = SUB_PIXELS * TAPS
"""The detail head's channels: for each of the 2 x 2 sub-pixels the weights of the 18 taps
(:func:`utils.models.scaled.compose_batch`)."""


@keras.saving.register_keras_serializable(package="vfi")
class FlowBlend(keras.layers.Layer):
    """Warps frame 1 and frame 3 by their flows and blends them: ``m W1 + (1 - m) W3 (+ residual)``.

    Inputs: ``[frames (B, H, W, 10), heads (B, H, W, 5 or 8)]``, and for a model with a detail head its output
    (B, H, W, :data:`DETAIL_CHANNELS`), which the frame at the network's own size does not use (only
    :class:`BlendFields` passes it on, for :mod:`utils.models.scaled`); the heads' channels are, in the order of
    :meth:`head_names`, the flow update (4), the blend-mask logit (1) and, with ``residual``, an RGB
    residual (3). The flows are the prior flows of ``frames[..., 6:]`` plus ``FLOW_SCALE * flow_update``,
    the mask is ``sigmoid(mask_gain * logit)``. Returns the middle frame (B, H, W, 3), computed in float32.

    Args:
        mask_gain: multiplies the mask logit, so that Adam moves the mask that much faster (its gradient
            is small: it only matters where the two warped frames disagree).
        residual: whether the heads end with the RGB residual.
        flow_update: whether the heads start with the flow correction (else the prior flows are used as
            they are and the network only decides how to blend the two warped frames).
    """

    def __init__(self, mask_gain: float = 1.0, residual: bool = True, flow_update: bool = True,
                 time_input: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.mask_gain = float(mask_gain)
        self.residual = bool(residual)
        self.flow_update = bool(flow_update)
        self.time_input = bool(time_input)

    def head_names(self) -> list[str]:
        """The heads in channel order: (``flow_update``), ``mask_logit`` (and ``residual``)."""
        wanted = {"flow_update": self.flow_update, "mask_logit": True, "residual": self.residual}
        return [name for name in HEAD_CHANNELS if wanted[name]]

    def head_channels(self) -> dict[str, slice]:
        """``{name: channels}``: where each head sits in the heads convolution's output."""
        bounds = np.cumsum([0] + [HEAD_CHANNELS[name] for name in self.head_names()])
        return {name: slice(int(a), int(b)) for name, a, b in zip(self.head_names(), bounds[:-1], bounds[1:])}

    def split_heads(self, heads):
        """``{name: tensor}`` of the heads' channels; the mask logit with its gain applied."""
        parts = {name: heads[..., channels] for name, channels in self.head_channels().items()}
        parts["mask_logit"] = self.mask_gain * parts["mask_logit"]
        return parts

    def flows(self, frames, parts):
        """The flows the frames are warped by: the prior's (``frames[..., 6:10]``) plus the correction."""
        return frames[..., 6:10] + FLOW_SCALE * parts["flow_update"] if self.flow_update else frames[..., 6:10]

    def parts_at_t(self, frames, heads):
        """:meth:`split_heads`; for the time model the mask logit starts from the weights 1 - t and t
        (``frames[..., 10]`` is t)."""
        parts = self.split_heads(heads)
        if self.time_input:
            t = tf.clip_by_value(frames[..., 10:11], 1e-3, 1.0 - 1e-3)
            parts["mask_logit"] += tf.math.log((1.0 - t) / t)
        return parts

    def call(self, inputs):
        frames, heads = (tf.cast(x, tf.float32) for x in inputs[:2])
        parts = self.parts_at_t(frames, heads)
        flows = self.flows(frames, parts)
        warped_1, warped_3 = _warp_both(frames, flows)
        blended = _blend(parts["mask_logit"], warped_1, warped_3)
        return blended + parts["residual"] if self.residual else blended

    def get_config(self):
        return {**super().get_config(), "mask_gain": self.mask_gain, "residual": self.residual,
                "flow_update": self.flow_update, "time_input": self.time_input}


class BlendFlows(FlowBlend):
    """The flows a :class:`FlowBlend` warps by (``F_t->1``, ``F_t->3``: 4 channels), as a layer of their own."""

    def call(self, inputs):
        frames, heads = (tf.cast(x, tf.float32) for x in inputs[:2])
        return self.flows(frames, self.split_heads(heads))


class BlendFields(FlowBlend):
    """What a :class:`FlowBlend` makes its frame from, as a layer of its own (B, H, W, 8): the flows it warps
    by (4), its blend-mask logit with the time prior added (1) and its RGB residual (3; zeros without one), then
    for a model with a detail head that head's output (:data:`DETAIL_CHANNELS`).
    :mod:`utils.models.scaled` enlarges them to compose a frame larger than the network saw."""

    def call(self, inputs):
        frames, heads = (tf.cast(x, tf.float32) for x in inputs[:2])
        parts = self.parts_at_t(frames, heads)
        residual = parts["residual"] if self.residual else tf.zeros_like(frames[..., 0:3])
        detail = [tf.cast(x, tf.float32) for x in inputs[2:]]
        return tf.concat([self.flows(frames, parts), parts["mask_logit"], residual, *detail], axis=-1)


def with_flows(network: keras.Model) -> keras.Model:
    """A view of a flow UNet that outputs its frame and the flows it warped by (7 channels): the same layers
    and weights, for training with :func:`utils.models.losses.flow_distillation`; the network itself is what is saved."""
    blend = flow_blend(network)
    if blend is None:
        raise ValueError(f"{network.name} has no flows (a flow UNet has a FlowBlend layer).")
    frames, heads = blend.input[:2]
    flows = BlendFlows(blend.mask_gain, blend.residual, blend.flow_update, blend.time_input, dtype="float32",
                       name="flows")([frames, heads])
    flows = CropToReference(dtype="float32", name="flows_cropped")([flows, network.input])
    joined = keras.layers.Concatenate(dtype="float32", name="rgb_and_flows")([network.output, flows])
    return keras.Model(network.input, joined, name=f"{network.name}_with_flows")


@keras.saving.register_keras_serializable(package="vfi")
class PriorFeatures(keras.layers.Layer):
    """Network input of the flow head: both frames, both frames warped by the prior flows, the scaled flows."""

    def call(self, frames):
        return self.features(frames)

    @staticmethod
    def features(frames):
        """The 16 channels: both frames, both warped by the prior flows, the flows over ``FLOW_SCALE``."""
        frames = tf.cast(frames, tf.float32)
        flows = frames[..., 6:10]
        return tf.concat([frames[..., 0:6], *_warp_both(frames, flows), flows / FLOW_SCALE], axis=-1)


def _intermediate(flow_13, flow_31, t):
    """:func:`utils.flow.intermediate_flows` in TensorFlow: ``F_t->1`` and ``F_t->3`` from both DIS flows."""
    return (-(1.0 - t) * t * flow_13 + t * t * flow_31,
            (1.0 - t) ** 2 * flow_13 - t * (1.0 - t) * flow_31)


@keras.saving.register_keras_serializable(package="vfi")
class TimePrior(keras.layers.Layer):
    """The time model's input (frames, ``F_1->3``, ``F_3->1``, t) turned into the flow UNet's layout at t.

    Returns 11 channels: frame 1, frame 3, ``F_t->1``, ``F_t->3`` (as :func:`utils.flow.flow_prior` at t)
    and the t plane.
    """

    def call(self, inputs):
        inputs = tf.cast(inputs, tf.float32)
        t = inputs[..., 10:11]
        return tf.concat([inputs[..., 0:6], *_intermediate(inputs[..., 6:8], inputs[..., 8:10], t), t], axis=-1)


@keras.saving.register_keras_serializable(package="vfi")
class TimePriorFeatures(keras.layers.Layer):
    """What the time model's UNet sees: :class:`PriorFeatures` of the layout at t, then ``2 t - 1`` and where
    DIS's two flows disagree.

    The disagreement is the forward-backward residual ``F_1->3 + F_3->1(x + F_1->3)`` at each pixel of
    frame 1 (and the same from frame 3), carried to time t along the intermediate flows: near zero where
    DIS is consistent, large at occlusions and where DIS failed. At t = 1/2 the intermediate flows alone
    cannot show it (``F_t->3 = -F_t->1``), so the 10-channel flow UNet never saw it.
    """

    def call(self, layout_and_flows):
        layout, raw = (tf.cast(x, tf.float32) for x in layout_and_flows)
        flow_13, flow_31, t = raw[..., 6:8], raw[..., 8:10], layout[..., 10:11]
        residual_1 = flow_13 + warp.backward_warp(flow_31, flow_13)
        residual_3 = flow_31 + warp.backward_warp(flow_13, flow_31)
        at_t = [warp.backward_warp(residual_1, layout[..., 6:8]), warp.backward_warp(residual_3, layout[..., 8:10])]
        base = PriorFeatures.features(layout[..., 0:10])
        return tf.concat([base, 2.0 * t - 1.0, *(r / FLOW_SCALE for r in at_t)], axis=-1)


COST_LEVEL = 2  # the cost volume joins the UNet at 1/4 resolution (the input of its third level)


COST_GAIN = 10.0  # mean absolute differences of about 0.02-0.2 -> about 0.2-2


@keras.saving.register_keras_serializable(package="vfi")
class CostVolume(keras.layers.Layer):
    """How well frame 1 and frame 3 match around the prior flows, for each change of motion on a grid:
    the evidence a flow network reads where DIS is wrong (PWC-Net's and BMBC's cost volumes, without
    learned features).

    At 1/4 resolution (frames and flows averaged over 4x4 pixels), for each change ``d`` of the motion from
    frame 1 to frame 3 on the grid ``{-r .. r}^2`` (steps of 4 pixels), frame 1 is sampled at
    ``x + F_t->1 - t d`` and frame 3 at ``x + F_t->3 + (1 - t) d`` (where the pixel at x would come from if the
    motion were the prior's plus d) and their mean absolute difference is averaged over 3x3: low where d is
    the better motion. ``d = 0`` is the prior's own match. The layer has no weights and passes no gradient.

    Input: the flow UNet's layout (frames, ``F_t->1``, ``F_t->3`` and, for the time model, the t plane;
    without it t = 1/2), height and width multiples of 4. Output: ``(2r + 1)^2`` channels at 1/4 resolution,
    times :data:`COST_GAIN`, in the order of :meth:`offsets`.
    """

    def __init__(self, radius: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.radius = int(radius)

    def offsets(self) -> np.ndarray:
        """The changes of motion ``d`` (x, y) at 1/4 resolution, one per output channel: ((2r + 1)^2, 2)."""
        steps = np.arange(-self.radius, self.radius + 1, dtype=np.float32)
        grid_y, grid_x = np.meshgrid(steps, steps, indexing="ij")
        return np.stack([grid_x.ravel(), grid_y.ravel()], axis=-1)

    def call(self, layout):
        layout = tf.stop_gradient(tf.cast(layout, tf.float32))
        small = tf.nn.avg_pool2d(layout, 4, 4, "VALID")
        t = small[..., 10:11] if layout.shape[-1] > 10 else 0.5
        offsets = tf.constant(self.offsets())[:, None, None, None, :]  # (n, 1, 1, 1, 2)
        count = offsets.shape[0]
        shape = tf.shape(small)

        def warped(image, flow, sign):  # every offset at once: (n * batch, h, w, c), offsets outermost
            flows = flow[None] / 4.0 + sign * offsets
            return warp.backward_warp(tf.tile(image, [count, 1, 1, 1]), tf.reshape(flows, [-1, shape[1], shape[2], 2]))

        difference = tf.abs(warped(small[..., 0:3], small[..., 6:8], -t) - warped(small[..., 3:6], small[..., 8:10], 1.0 - t))
        cost = tf.nn.avg_pool2d(tf.reduce_mean(difference, -1, keepdims=True), 3, 1, "SAME")
        cost = tf.reshape(cost, [count, shape[0], shape[1], shape[2]])
        return COST_GAIN * tf.transpose(cost, [1, 2, 3, 0])

    def get_config(self):
        return {**super().get_config(), "radius": self.radius}


def build_flow_unet(base_filters: int = 16, depth: int = 4, residual: bool = True, mask_gain: float = 4.0,
                    name: str = "flow_unet", initializer: str = "glorot_uniform",
                    flow_update: bool = True, time_input: bool = False, cost_radius: int = 0,
                    detail_head: bool = False) -> keras.Model:
    """Builds the flow-guided UNet.

    The UNet sees both frames, both frames warped by the DIS prior flows and the prior flows
    themselves; a zero-initialised convolution outputs the heads: a flow correction (4 channels), a
    blend-mask logit and an RGB residual (3). Untrained, the model is exactly the DIS baseline (prior flows, mask
    0.5, no residual); training learns where the flow is wrong and which frame to trust where
    something is hidden in one of them.

    Args:
        base_filters: filters of the first level (doubled at each level).
        depth: number of levels.
        residual: include the RGB residual head (else the output is the masked blend alone).
        mask_gain: multiplies the mask logit, so that Adam moves the mask that much faster (its
            gradient is small: it only matters where the two warped frames disagree).
        name: model name.
        initializer: the ReLU convolutions' kernel initializer (``he_normal`` keeps the activations'
            scale through the levels; Keras's ``glorot_uniform`` halves it at every level).
        flow_update: learn a correction to the prior flows (else keep DIS's flows and learn the blend).
        time_input: the time-conditioned model (11 input channels: frames, DIS flows both ways, t).
        cost_radius: > 0: a :class:`CostVolume` of this radius ((2r + 1)^2 channels) joins the UNet at 1/4
            resolution (needs ``depth`` > 2): where the frames match better than by the prior's flows.
        detail_head: add the detail head, a zero-initialised 3x3 convolution beside the heads: for each pixel
            and each of its 2 x 2 sub-pixels the weights of a filter over that sub-pixel's 3 x 3 neighbourhood in
            both warped frames (:data:`DETAIL_CHANNELS`). The frame at the network's own size does not use it; when
            :mod:`utils.models.scaled` composes a frame twice the network's size from the fields of a shrunk pair,
            the filter brings in the full-size detail that the network never saw (kernel prediction, as KPN and
            AdaCoF predict their filters). Zero weights: the model starts as it was.

    Returns:
        A functional model mapping (batch, H, W, 10) to (batch, H, W, 3) for any H and W; the
        input is frame 1, frame 3 and the prior flows ``F_t->1``, ``F_t->3`` (see :func:`model_inputs`).
    """
    if depth < 1 or base_filters < 1:
        raise ValueError(f"build_flow_unet needs depth >= 1 and base_filters >= 1, got depth={depth}, "
                         f"base_filters={base_filters}.")
    if cost_radius < 0:
        raise ValueError(f"build_flow_unet needs cost_radius >= 0 (0: no cost volume), got {cost_radius}.")
    if cost_radius and depth <= COST_LEVEL:
        raise ValueError(f"build_flow_unet: a cost volume joins level {COST_LEVEL} (1/4 resolution), "
                         f"so it needs depth > {COST_LEVEL}, got depth={depth}.")
    if time_input:
        inputs = keras.Input(shape=(None, None, 11), name="frames_flows_and_time")
    else:
        inputs = keras.Input(shape=(None, None, 10), name="frames_and_prior_flows")
    # float32: the frames and flows that get warped must not be rounded to bfloat16 (8 significant bits:
    # a 20 px flow would move in steps of 1/8 px, a bright pixel in steps of half a grey level).
    padded = PadToMultiple(2 ** (depth - 1), dtype="float32", name="pad")(inputs)
    if time_input:  # mirror padding keeps the t plane constant
        raw = padded
        padded = TimePrior(dtype="float32", name="time_prior")(raw)
        features = TimePriorFeatures(dtype="float32", name="prior_features")([padded, raw])
    else:
        features = PriorFeatures(name="prior_features")(padded)
    cost = CostVolume(cost_radius, dtype="float32", name="cost_volume")(padded) if cost_radius else None
    x = _unet_body(features, base_filters, depth, initializer, cost)
    # One zero-initialised 3x3 convolution for all heads: with 8 outputs it costs about a third of three
    # convolutions with 4, 1 and 3 (oneDNN computes channels in blocks), forward and backward.
    blend = FlowBlend(mask_gain, residual, flow_update, time_input, dtype="float32", name="blend")
    channels = sum(HEAD_CHANNELS[head] for head in blend.head_names())
    heads = keras.layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros", dtype="float32",
                                name="heads")(x)
    # the detail head computes in the body's precision (bfloat16 in the video command): its 72 outputs take the
    # network at 640x360 from 86 to 110 ms a time here, and its weights are small
    detail = [keras.layers.Conv2D(DETAIL_CHANNELS, 3, padding="same", kernel_initializer="zeros", name="detail")(x)
              ] if detail_head else []
    blended = blend([padded, heads, *detail])
    outputs = CropToReference(dtype="float32", name="rgb")([blended, inputs])
    return keras.Model(inputs, outputs, name=name)


FLOAT32_LAYERS = frozenset({"pad", "time_prior", "prior_features", "cost_volume", "heads", "blend", "rgb", "correction",
                            "average", "flows", "flows_cropped", "rgb_and_flows"})
"""The layers the builders keep in float32 under a mixed policy (warping, flows, heads, output; tested)."""


def with_precision(model: keras.Model, policy: str) -> keras.Model:
    """A copy of ``model`` (same weights) whose layers outside :data:`FLOAT32_LAYERS` compute in ``policy``:
    ``mixed_bfloat16`` runs the convolutions as in training under it, about 1.5 times as fast on a CPU with
    bfloat16 arithmetic; the warping, the flows and the output stay float32. ``float32`` returns ``model``;
    ``auto`` is ``mixed_bfloat16`` where the CPU has bfloat16 arithmetic, else ``float32``."""
    if policy == "auto":
        policy = "mixed_bfloat16" if hardware.cpu_has_bfloat16() else "float32"
    if policy == "float32":
        return model
    config = json.loads(model.to_json())
    for layer in config["config"]["layers"]:
        if layer["class_name"] != "InputLayer" and layer["config"]["name"] not in FLOAT32_LAYERS:
            layer["config"]["dtype"] = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": policy},
                                        "registered_name": None}
    copy = keras.models.model_from_json(json.dumps(config))
    copy.set_weights(model.get_weights())
    return copy


def flow_blend(model):
    """The :class:`FlowBlend` layer of a flow-guided UNet (its heads' layout and mask gain), else ``None``."""
    return next((layer for layer in model.layers if isinstance(layer, FlowBlend)), None)


def input_channels(model) -> int:
    """6 for the direct and residual heads (two frames), 10 for the flow head (frames and prior flows),
    11 for the time-conditioned flow head (frames, DIS flows both ways, t)."""
    return int(model.inputs[0].shape[-1])


def build_unet(
    base_filters: int = 32,
    depth: int = 5,
    output_mode: str = "direct",
    name: str = "unet",
    initializer: str = "glorot_uniform",
) -> keras.Model:
    """Builds the frame-interpolation UNet.

    Args:
        base_filters: filters of the first level; level i has ``base_filters * 2**i``
            (the original: 32 -> 512 over 5 levels).
        depth: number of levels (``depth - 1`` poolings).
        output_mode: ``"direct"`` (the original: the 1x1 convolution outputs the RGB frame),
            ``"residual"`` (the 1x1 convolution, initialised to zero, outputs a correction added
            to the average of the two frames; training starts from plain blending) or ``"flow"``
            (:func:`build_flow_unet`; 10 input channels).
        name: model name.
        initializer: kernel initializer of the ReLU convolutions (see :func:`build_flow_unet`).

    Returns:
        A functional Keras model mapping (batch, H, W, 6) to (batch, H, W, 3) for any H and W:
        frames are padded to a multiple of ``2**(depth - 1)`` inside the model and cropped back.

    Raises:
        ValueError: for a depth below 1, fewer than 1 filter, or an unknown output mode.
    """
    if depth < 1 or base_filters < 1:
        raise ValueError(f"build_unet needs depth >= 1 and base_filters >= 1, got depth={depth}, "
                         f"base_filters={base_filters}.")
    if output_mode not in OUTPUT_MODES:
        raise ValueError(f"Unknown output_mode {output_mode!r}: expected one of {', '.join(OUTPUT_MODES)}.")
    if output_mode == "flow":
        return build_flow_unet(base_filters, depth, name=name, initializer=initializer)
    inputs = keras.Input(shape=(None, None, 6), name="frames_1_and_3")
    x = PadToMultiple(2 ** (depth - 1), name="pad")(inputs)
    x = _unet_body(x, base_filters, depth, initializer)
    x = CropToReference(name="crop")([x, inputs])
    if output_mode == "direct":
        outputs = keras.layers.Conv2D(3, 1, dtype="float32", name="rgb")(x)
    else:
        correction = keras.layers.Conv2D(3, 1, kernel_initializer="zeros", dtype="float32", name="correction")(x)
        average = FrameAverage(dtype="float32", name="average")(inputs)
        outputs = keras.layers.Add(dtype="float32", name="rgb")([average, correction])
    return keras.Model(inputs, outputs, name=name)


def level_table(base_filters: int, depth: int, frame_size: tuple[int, int]) -> list[tuple[int, int, tuple[int, int]]]:
    """Lists (level, filters, feature-map size) of a UNet for a frame size (after padding)."""
    multiple = 2 ** (depth - 1)
    height = -(-frame_size[0] // multiple) * multiple
    width = -(-frame_size[1] // multiple) * multiple
    return [(level, base_filters * 2**level, (height // 2**level, width // 2**level)) for level in range(depth)]
