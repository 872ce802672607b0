"""A differentiable bilinear sampler in TensorFlow: backward warping by a dense flow field.

``backward_warp(image, flow)[b, y, x] = image[b, y + v, x + u]`` with ``(u, v) = flow[b, y, x]``,
interpolated bilinearly between the four neighbouring pixels; positions outside the frame take the
nearest edge pixel. Gradients flow to the image and to the flow (through the bilinear weights), so a
network can learn the flow from a photometric loss alone.

The sampler is a chain of small element-wise operations around four gathers. Run op by op, each of
them reads and writes the whole tensor (about 35 ms of CPU time forward and backward for a batch of
16 at 128x128); compiled by XLA into a few fused loops it costs about a sixth of that. So the
forward pass and the two gradients are XLA-compiled functions, whatever the model's ``jit_compile``
(which compiles the convolutions too, and those XLA runs slower on CPUs: see ``results/benchmarks.md``).
The gradients are written out (:func:`_flow_gradient`, :func:`_image_gradient`) so that a graph that
needs only the flow's gradient (the flow UNet: the frames are inputs) never computes the image's
scatter-add: TensorFlow prunes the unused function call. XLA compiles once per tensor shape (about
0.1 s on a CPU): a training run or a video of one frame size pays it once.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _sampling(shape, flow):
    """Flat indices of the four neighbours, the bilinear weights and where the clipping lets gradients through.

    Returns ``(i00, i01, i10, i11), weight_x, weight_y, inside_x, inside_y``: indices (batch, H, W) into
    the image flattened to (batch * H * W, channels), for (top, left), (top, right), (bottom, left),
    (bottom, right); the other four are (batch, H, W, 1). ``inside_*`` is 1 where the sampling position
    lies within the frame (edges included), 0 where it was clipped to the edge (the position does not
    move there, so neither does the picture: zero gradient, as ``tf.clip_by_value`` gives).
    """
    batch, height, width = shape[0], shape[1], shape[2]
    grid_y, grid_x = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32),
                                 indexing="ij")
    limit_x, limit_y = tf.cast(width - 1, tf.float32), tf.cast(height - 1, tf.float32)
    x = grid_x[None] + flow[..., 0]
    y = grid_y[None] + flow[..., 1]
    inside_x = tf.cast((x >= 0.0) & (x <= limit_x), tf.float32)[..., None]
    inside_y = tf.cast((y >= 0.0) & (y <= limit_y), tf.float32)[..., None]
    x = tf.clip_by_value(x, 0.0, limit_x)
    y = tf.clip_by_value(y, 0.0, limit_y)
    x0 = tf.floor(x)
    y0 = tf.floor(y)
    weight_x = (x - x0)[..., None]
    weight_y = (y - y0)[..., None]
    x0 = tf.cast(x0, tf.int32)
    y0 = tf.cast(y0, tf.int32)
    x1 = tf.minimum(x0 + 1, width - 1)
    y1 = tf.minimum(y0 + 1, height - 1)
    base = (tf.range(batch) * height * width)[:, None, None]
    indices = tuple(base + row * width + column for row, column in ((y0, x0), (y0, x1), (y1, x0), (y1, x1)))
    return indices, weight_x, weight_y, inside_x, inside_y


def _neighbours(image, indices):
    flat = tf.reshape(image, [-1, tf.shape(image)[3]])
    return [tf.gather(flat, index) for index in indices]


@tf.function(jit_compile=True)
def _warp(image, flow):
    indices, weight_x, weight_y, _, _ = _sampling(tf.shape(image), flow)
    v00, v01, v10, v11 = _neighbours(image, indices)
    top = v00 + (v01 - v00) * weight_x
    bottom = v10 + (v11 - v10) * weight_x
    return top + (bottom - top) * weight_y


@tf.function(jit_compile=True)
def _flow_gradient(image, flow, upstream):
    """d loss / d flow: the bilinear weights' derivatives times the differences between neighbours."""
    indices, weight_x, weight_y, inside_x, inside_y = _sampling(tf.shape(image), flow)
    v00, v01, v10, v11 = _neighbours(image, indices)
    d_x = (v01 - v00) + ((v11 - v10) - (v01 - v00)) * weight_y
    d_y = (v10 - v00) + ((v11 - v01) - (v10 - v00)) * weight_x
    return tf.concat([tf.reduce_sum(upstream * d_x, -1, keepdims=True) * inside_x,
                      tf.reduce_sum(upstream * d_y, -1, keepdims=True) * inside_y], axis=-1)


@tf.function(jit_compile=True)
def _image_gradient(image, flow, upstream):
    """d loss / d image: each output pixel's gradient scattered back to its four neighbours, by weight."""
    shape = tf.shape(image)
    indices, weight_x, weight_y, _, _ = _sampling(shape, flow)
    weights = ((1.0 - weight_x) * (1.0 - weight_y), weight_x * (1.0 - weight_y),
               (1.0 - weight_x) * weight_y, weight_x * weight_y)
    gradient = tf.zeros([shape[0] * shape[1] * shape[2], shape[3]], upstream.dtype)
    for index, weight in zip(indices, weights):
        gradient = tf.tensor_scatter_nd_add(gradient, tf.reshape(index, [-1, 1]),
                                            tf.reshape(upstream * weight, [-1, shape[3]]))
    return tf.reshape(gradient, shape)


@tf.custom_gradient
def _warp_with_gradients(image, flow):
    def gradients(upstream):
        return _image_gradient(image, flow, upstream), _flow_gradient(image, flow, upstream)

    return _warp(image, flow), gradients


def backward_warp(image: tf.Tensor, flow: tf.Tensor) -> tf.Tensor:
    """Samples ``image`` at (x + u, y + v) for every pixel (bilinear, edges repeated).

    Args:
        image: (batch, height, width, channels) float tensor.
        flow: (batch, height, width, 2) float tensor, (u, v) = (x, y) offsets in pixels.

    Returns:
        The warped image, (batch, height, width, channels), in ``image``'s dtype (computed in float32).
    """
    dtype = image.dtype
    warped = _warp_with_gradients(tf.cast(image, tf.float32), tf.cast(flow, tf.float32))
    return tf.cast(warped, dtype)


@keras.saving.register_keras_serializable(package="vfi")
class BackwardWarp(keras.layers.Layer):
    """Keras layer around :func:`backward_warp`: ``BackwardWarp()([image, flow])`` (computes in float32)."""

    def call(self, inputs):
        image, flow = inputs
        return backward_warp(image, flow)
