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
detail head (``build_flow_unet(..., detail_head=True)``) also outputs, for each pixel of the small grid and each of
its 2 x 2 sub-pixels, the weights of a filter over the full-size warped pixels around it, learned through this
path (``longrun --detail-only``); :func:`compose_batch` applies it, and the network's own frame at full size never
uses it.
"""

from __future__ import annotations

import concurrent.futures
import functools

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
    (:func:`utils.models.unet.build_flow_unet`) that head's filter weights (:data:`utils.models.unet.DETAIL_CHANNELS`);
    :func:`compose` makes the frame.

    Raises:
        ValueError: for a model without a :class:`utils.models.unet.FlowBlend` layer (the direct UNet).
    """

    def __init__(self, model: keras.Model):
        self.channels = unet.input_channels(model)
        self._model = fields_model(model)
        self.outputs = int(self._model.output.shape[-1])  # 8, or 8 + DETAIL_CHANNELS
        signature = [tf.TensorSpec((None, None, None, self.channels), tf.float32)]
        self._function = tf.function(lambda inputs: self._model(inputs, training=False), input_signature=signature)

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(self.tensor(inputs))

    def tensor(self, inputs: np.ndarray) -> tf.Tensor:
        """The fields as a tensor, which :func:`compose` takes without a copy."""
        return self._function(np.asarray(inputs, np.float32))


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
    """Frames (B, H, W, 3) from both full frames ``pair`` (B, H, W, 6) in [0, 1] and :class:`Fields` (B, h, w, 8, or
    8 + :data:`utils.models.unet.DETAIL_CHANNELS` with a detail head) of a smaller pair: the fields enlarged
    (bilinear; the identity when h = H) and the flows multiplied by the factor, both frames warped by them
    (bilinear, edges repeated), blended by the mask, the residual added. Not clipped; differentiable (what
    :func:`trainer` trains through).

    With a detail head, where H = 2h and W = 2w (the video command's half size on even frames), each pixel of the
    frame then moves towards a weighted sum of the 18 warped pixels of its 3 x 3 neighbourhood in both frames,
    ``+ sum_j w_j (p_j - frame)``, the weights ``w_j`` of its sub-pixel from the head (:func:`_filtered`): the
    full-size detail that the network never saw.
    """
    frame, warped_a, warped_b = _warped(pair, fields)
    return _sharpened(frame, warped_a, warped_b, fields)


def _warped(pair, fields):
    """:func:`compose_batch` before the filter: the fields enlarged, both frames warped by the flows (multiplied by
    the enlargement) and the frame blended from them with the residual added: (frame, warped A, warped B)."""
    height, width = tf.shape(pair)[1], tf.shape(pair)[2]
    small_height, small_width = tf.shape(fields)[1], tf.shape(fields)[2]
    small = fields[..., :unet.FIELD_CHANNELS]
    # bilinear (half-pixel centres); to exactly twice the size by fixed weights, which XLA fuses into one pass
    large = _if_twice(pair, fields, lambda: _doubled(_doubled(small, 1), 2),
                      lambda: tf.image.resize(small, tf.stack([height, width]), method="bilinear"))
    factor_x = tf.cast(width, tf.float32) / tf.cast(small_width, tf.float32)
    factor_y = tf.cast(height, tf.float32) / tf.cast(small_height, tf.float32)
    flows = large[..., 0:4] * tf.stack([factor_x, factor_y, factor_x, factor_y])
    warped_a = warp.backward_warp(pair[..., 0:3], flows[..., 0:2])
    warped_b = warp.backward_warp(pair[..., 3:6], flows[..., 2:4])
    return warped_b + tf.sigmoid(large[..., 4:5]) * (warped_a - warped_b) + large[..., 5:8], warped_a, warped_b


def _sharpened(frame, warped_a, warped_b, fields):
    """The last stage: ``frame`` plus :func:`_filtered` with the detail head's weights where the frame is exactly
    twice the fields' size (else ``frame``)."""
    if fields.shape[-1] != unet.FIELD_CHANNELS + unet.DETAIL_CHANNELS:
        return frame
    weights = fields[..., unet.FIELD_CHANNELS:]
    return _if_twice(frame, weights, lambda: frame + _filtered(frame, warped_a, warped_b, weights), lambda: frame)


def _if_twice(large, small, twice, otherwise):
    """``twice()`` where ``large`` (B, H, W, ...) is exactly twice ``small`` (B, h, w, ...) on both sides, else
    ``otherwise()``: decided when traced where the sizes are known then (a branch written for the other case may
    not even trace at those sizes), else by ``tf.cond``."""
    sizes = (large.shape[1], large.shape[2], small.shape[1], small.shape[2])
    if None not in sizes:
        return twice() if sizes[:2] == (2 * sizes[2], 2 * sizes[3]) else otherwise()
    return tf.cond(tf.logical_and(tf.equal(tf.shape(large)[1], 2 * tf.shape(small)[1]),
                                  tf.equal(tf.shape(large)[2], 2 * tf.shape(small)[2])), twice, otherwise)


def _doubled(values, axis: int):
    """``values`` twice as long along ``axis`` (1 or 2): output ``2i`` is ``3/4 v[i] + 1/4 v[i-1]``, ``2i+1`` is
    ``3/4 v[i] + 1/4 v[i+1]``, the edges repeated (bilinear enlargement by 2 with half-pixel centres)."""
    first, last = (tf.gather(values, [0], axis=axis), tf.gather(values, [tf.shape(values)[axis] - 1], axis=axis))
    before = tf.concat([first, tf.gather(values, tf.range(tf.shape(values)[axis] - 1), axis=axis)], axis=axis)
    after = tf.concat([tf.gather(values, tf.range(1, tf.shape(values)[axis]), axis=axis), last], axis=axis)
    even, odd = 0.75 * values + 0.25 * before, 0.75 * values + 0.25 * after
    joined = tf.stack([even, odd], axis=axis + 1)  # (..., n, 2, ...) -> (..., 2n, ...)
    shape = tf.shape(values)
    return tf.reshape(joined, tf.tensor_scatter_nd_update(shape, [[axis]], [2 * shape[axis]]))


def _filtered(frame, warped_a, warped_b, weights):
    """``sum_j w_j (p_j - frame)`` at every pixel of ``frame`` (B, 2h, 2w, 3): ``p_j`` the 18 pixels of its 3 x 3
    neighbourhood in both warped frames (edges repeated), ``w_j`` the weights of its sub-pixel in ``weights``
    (B, h, w, 4 x 18): sub-pixel (row, column) at 2 row + column, as depth to space orders them, and within it tap
    ``9 f + 3 (dy + 1) + (dx + 1)`` for frame ``f`` (0: A, 1: B) at offset (dy, dx)."""
    weights = tf.nn.depth_to_space(weights, 2)  # (B, 2h, 2w, 18): each pixel the weights of its own sub-pixel
    height, width = tf.shape(frame)[1], tf.shape(frame)[2]
    change = tf.zeros_like(frame)
    # one shifted view per tap and a running sum: XLA makes it one pass (stacking the taps costs 9x as much)
    for index, image in enumerate((warped_a, warped_b)):
        padded = tf.pad(image, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
        for tap in range(unet.NEIGHBOURS):
            row, column = divmod(tap, 3)
            j = unet.NEIGHBOURS * index + tap
            change += weights[..., j:j + 1] * (padded[:, row:row + height, column:column + width] - frame)
    return change


def compose(frame_a: np.ndarray, frame_b: np.ndarray, fields) -> np.ndarray | list[np.ndarray]:
    """The frame at full resolution from :class:`Fields` computed on a smaller pair (h, w, 8 or more), both ``uint8``
    frames (:func:`compose_batch`); or, for a batch of fields (B, h, w, C) of several times of that pair, the list
    of their frames. Returns ``float32`` (H, W, 3) in [0, 1].

    ``fields`` may be the tensor that :meth:`Fields.tensor` returns: it is used as it is. (A NumPy array is copied
    into a tensor first: 27 ms for a detail head's 80 channels at 640x360 here.)
    """
    fields = tf.convert_to_tensor(fields, tf.float32)
    single = fields.shape.rank == 3
    batch, pair = fields[None] if single else fields, _pair(frame_a, frame_b)
    frames = []
    for index in range(batch.shape[0]):  # one time at a time: a program for each batch size would cost a compilation
        one = batch[index:index + 1]  # a view, not a copy
        if one.shape[-1] == unet.FIELD_CHANNELS:
            frames.append(np.asarray(_compose(pair, one))[0])
        else:  # with a detail head, two XLA programs: in one, XLA fuses the warps into the filter and computes each
            # warped pixel again for every tap that reads it (several times slower at 1280x720 here)
            frames.append(np.asarray(_filter_stage(*_warp_stage(pair, one), one))[0])
    return frames[0] if single else frames


_PREPARED: set = set()


def prepare(size: tuple[int, int], small: tuple[int, int], channels: int) -> concurrent.futures.Future | None:
    """Compiles :func:`compose`'s XLA programs for frames of ``size`` (H, W) from fields (``small``, ``channels``) in
    a thread, once per shape, so that the caller's network runs meanwhile (with a detail head the compilation
    takes 1.5 s here, the video command's first network call about as long); ``None`` once done before."""
    key = (tuple(size), tuple(small), channels)
    if key in _PREPARED:
        return None
    _PREPARED.add(key)
    frame, fields = np.zeros((*size, 3), np.uint8), np.zeros((*small, channels), np.float32)
    return _compiler().submit(compose, frame, frame, fields)


@functools.cache
def _compiler() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="compose")


@tf.function(jit_compile=True)
def _compose(pair, fields):
    """:func:`compose` for fields without a detail head as one XLA program (13 ms a time at 1280x720 here, the
    pair made beforehand); :func:`_doubled` enlarges the fields (``tf.image.resize`` doubled the time, equal
    within 5e-5)."""
    return tf.clip_by_value(compose_batch(pair, fields), 0.0, 1.0)


@tf.function(jit_compile=True)
def _warp_stage(pair, fields):
    return _warped(pair, fields)


@tf.function(jit_compile=True)
def _filter_stage(frame, warped_a, warped_b, fields):
    return tf.clip_by_value(_sharpened(frame, warped_a, warped_b, fields), 0.0, 1.0)


@tf.function(jit_compile=True)
def _pair(frame_a, frame_b):
    """Both ``uint8`` frames as one (1, H, W, 6) batch in [0, 1]."""
    return tf.concat([tf.cast(frame_a, tf.float32), tf.cast(frame_b, tf.float32)], axis=-1)[None] / 255.0
