"""A flow UNet run at a reduced resolution, its frame composed at full resolution (RIFE's ``--scale``).

The network's work grows with the pixels: at 1280x720 the time model costs about four times what it costs at
640x360. Its answer, though, is a few smooth fields: two flows, a blend mask and a small RGB residual. So for a
large frame both frames are shrunk (area averaging), DIS and the network run on the small pair, and their fields
are enlarged (bilinear, the flows multiplied by the factor) to warp and blend the *full-resolution* frames: the
output keeps every pixel of detail that the flows carry over, at the cost of the network's detail along motion
edges. :func:`working_scale` picks the factor from the frame size: frames up to 960x540 whole, 720p and 1080p at
half, 4K at a quarter (the network then sees 640x360 to 960x540, sizes near those it was trained and tested at);
``results/benchmarks.md`` says what each factor costs in quality and gains in speed.

Bilinear enlargement blurs the fields where they change fastest: at the edges of moving things. A model with a
detail head (``build_flow_unet(..., detail_head=True)``) also outputs, for each pixel of the small grid, the fields'
corrections at its 2 x 2 sub-pixels, learned through this path (``longrun --detail-only``), which
:func:`compose_batch` adds to the enlargement; the network's own frame at full size never uses them.
"""

from __future__ import annotations

import cv2
import keras
import numpy as np
import tensorflow as tf

from utils import flow
from utils.models import unet, warp

AUTO = "auto"

SCALES = (1.0, 0.5, 0.25, 0.125)  # what "auto" chooses from: halvings keep the pooling grid's arithmetic simple

WORK_PIXELS = 960 * 540  # "auto": the largest scale whose frame has at most this many pixels


def working_scale(width: int, height: int, scale: float | str = AUTO) -> float:
    """The scale the network works at for frames of ``width`` x ``height``: ``scale`` itself, or for ``"auto"``
    the largest of :data:`SCALES` whose frame has at most :data:`WORK_PIXELS` pixels, never below
    :data:`utils.flow.MIN_SIDE` pixels on a side.

    >>> working_scale(960, 540), working_scale(1280, 720), working_scale(1920, 1080), working_scale(3840, 2160)
    (1.0, 0.5, 0.5, 0.25)
    """
    if scale != AUTO:
        return check_scale(scale)
    for candidate in SCALES:
        if width * height * candidate**2 <= WORK_PIXELS or candidate == SCALES[-1]:
            break
    while candidate < 1.0 and min(width, height) * candidate < flow.MIN_SIDE:
        candidate *= 2
    return candidate


def check_scale(scale) -> float | str:
    """``"auto"`` or a float in (0, 1]; else ``ValueError`` naming ``--scale``."""
    if scale == AUTO:
        return AUTO
    try:
        value = float(scale)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value <= 1.0:
        raise ValueError(f"--scale must be 'auto' or a number in (0, 1] (the network's resolution as a share of the "
                         f"frame's), got {scale}.")
    return value


def small_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """(width, height) of a frame shrunk by ``scale``, at least :data:`utils.flow.MIN_SIDE` on each side."""
    return max(flow.MIN_SIDE, round(width * scale)), max(flow.MIN_SIDE, round(height * scale))


def shrink(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` resized to ``size`` (width, height) by area averaging (no aliasing)."""
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


class Fields:
    """A flow UNet's fields instead of its frame: ``fields(inputs)`` maps the network's input (batch, h, w, C) to
    (batch, h, w, 8): the flows it warps by (``F_t->1``, ``F_t->3``; 4), its blend-mask logit with the time
    prior added (1) and its RGB residual (3; zeros for a model without one), then for a model with a detail head
    (:func:`utils.models.unet.build_flow_unet`) the fields' corrections at each pixel's 2 x 2 sub-pixels (32);
    :func:`compose` makes the frame.

    Raises:
        ValueError: for a model without a :class:`utils.models.unet.FlowBlend` layer (the direct UNet).
    """

    def __init__(self, model: keras.Model):
        self.channels = unet.input_channels(model)
        self._model = fields_model(model)
        signature = [tf.TensorSpec((None, None, None, self.channels), tf.float32)]
        self._function = tf.function(lambda inputs: self._model(inputs, training=False), input_signature=signature)

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(self._function(np.asarray(inputs, np.float32)))


def fields_model(model: keras.Model) -> keras.Model:
    """A view of a flow UNet (same layers and weights) that outputs its :class:`Fields` (float32)."""
    blend = unet.flow_blend(model)
    if blend is None:
        raise ValueError(f"{model.name} has no flows to enlarge: --scale below 1 needs a flow UNet.")
    fields = unet.BlendFields(blend.mask_gain, blend.residual, blend.flow_update, blend.time_input, dtype="float32",
                              name="fields")(list(blend.input))
    fields = unet.CropToReference(dtype="float32", name="fields_cropped")([fields, model.input])
    return keras.Model(model.input, fields, name=f"{model.name}_fields")


def trainer(model: keras.Model) -> keras.Model:
    """A training view of a flow UNet whose frame is composed at full resolution from fields computed on a shrunk
    pair, as the video command makes it at ``--scale`` below 1 (RIFE trains its scale the same way: the loss on
    the full frame).

    Inputs: ``[network inputs (B, h, w, C), both full frames (B, H, W, 6) in [0, 1]]``; output: the frame
    (B, H, W, 3), float32, not clipped (as the network's own). With ``h = H`` it is the network's own frame.
    """
    pair = keras.Input((None, None, 6), name="full_pair")
    fields = fields_model(model)(model.input)
    frame = ComposeLayer(dtype="float32", name="compose")([pair, fields])
    return keras.Model([model.input, pair], frame, name=f"{model.name}_scaled")


@keras.saving.register_keras_serializable(package="vfi")
class ComposeLayer(keras.layers.Layer):
    """:func:`compose_batch` as a layer: inputs ``[pair (B, H, W, 6), fields (B, h, w, 8)]``."""

    def call(self, inputs):
        pair, fields = (tf.cast(x, tf.float32) for x in inputs)
        return compose_batch(pair, fields)


def compose_batch(pair, fields):
    """Frames (B, H, W, 3) from both full frames ``pair`` (B, H, W, 6) in [0, 1] and :class:`Fields` (B, h, w, 8
    or 40) of a smaller pair: the fields enlarged (bilinear; the identity when h = H) plus, with a detail head and
    h < H, its sub-pixel corrections (the 2h x 2w grid they make, enlarged bilinearly to H x W where H > 2h), the
    flows multiplied by the factor, both frames warped by them (bilinear, edges repeated), blended by the mask, the
    residual added. Not clipped; differentiable (what :func:`trainer` trains through)."""
    height, width = tf.shape(pair)[1], tf.shape(pair)[2]
    small_height, small_width = tf.shape(fields)[1], tf.shape(fields)[2]
    size = tf.stack([height, width])
    large = tf.image.resize(fields[..., :unet.FIELD_CHANNELS], size, method="bilinear")
    if fields.shape[-1] == unet.FIELD_CHANNELS + unet.DETAIL_CHANNELS:
        fine = tf.nn.depth_to_space(fields[..., unet.FIELD_CHANNELS:], 2)
        enlarged = tf.cast(small_height < height, tf.float32)  # at the network's own size its frame, unchanged
        large += enlarged * tf.image.resize(fine, size, method="bilinear")
    factor_x = tf.cast(width, tf.float32) / tf.cast(small_width, tf.float32)
    factor_y = tf.cast(height, tf.float32) / tf.cast(small_height, tf.float32)
    flows = large[..., 0:4] * tf.stack([factor_x, factor_y, factor_x, factor_y])
    warped_a = warp.backward_warp(pair[..., 0:3], flows[..., 0:2])
    warped_b = warp.backward_warp(pair[..., 3:6], flows[..., 2:4])
    return warped_b + tf.sigmoid(large[..., 4:5]) * (warped_a - warped_b) + large[..., 5:8]


def compose(frame_a: np.ndarray, frame_b: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """The frame at full resolution from :class:`Fields` computed on a smaller pair (h, w, 8), both ``uint8``
    frames (:func:`compose_batch`). Returns ``float32`` (H, W, 3) in [0, 1].
    """
    return np.asarray(_compose(frame_a, frame_b, np.asarray(fields, np.float32)))


@tf.function(jit_compile=True)
def _compose(frame_a, frame_b, fields):
    """:func:`compose` as one XLA program: a third faster than the same steps in NumPy and OpenCV (41.7 against
    58.7 ms at 1280x720 here), equal to them within 1e-4."""
    pair = tf.concat([tf.cast(frame_a, tf.float32), tf.cast(frame_b, tf.float32)], axis=-1)[None] / 255.0
    return tf.clip_by_value(compose_batch(pair, fields[None])[0], 0.0, 1.0)
