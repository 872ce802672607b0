"""A differentiable bilinear sampler in TensorFlow: backward warping by a dense flow field.

``backward_warp(image, flow)[b, y, x] = image[b, y + v, x + u]`` with ``(u, v) = flow[b, y, x]``,
interpolated bilinearly between the four neighbouring pixels; positions outside the frame take the
nearest edge pixel. Gradients flow to the image and to the flow (through the bilinear weights), so a
network can learn the flow from a photometric loss alone.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def backward_warp(image: tf.Tensor, flow: tf.Tensor) -> tf.Tensor:
    """Samples ``image`` at (x + u, y + v) for every pixel (bilinear, edges repeated).

    Args:
        image: (batch, height, width, channels) float tensor.
        flow: (batch, height, width, 2) float tensor, (u, v) = (x, y) offsets in pixels.

    Returns:
        The warped image, (batch, height, width, channels), in ``image``'s dtype.
    """
    dtype = image.dtype
    image = tf.cast(image, tf.float32)
    flow = tf.cast(flow, tf.float32)
    shape = tf.shape(image)
    batch, height, width = shape[0], shape[1], shape[2]
    grid_y, grid_x = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32),
                                 indexing="ij")
    x = tf.clip_by_value(grid_x[None] + flow[..., 0], 0.0, tf.cast(width - 1, tf.float32))
    y = tf.clip_by_value(grid_y[None] + flow[..., 1], 0.0, tf.cast(height - 1, tf.float32))
    x0 = tf.floor(x)
    y0 = tf.floor(y)
    weight_x = (x - x0)[..., None]
    weight_y = (y - y0)[..., None]
    x0 = tf.cast(x0, tf.int32)
    y0 = tf.cast(y0, tf.int32)
    x1 = tf.minimum(x0 + 1, width - 1)
    y1 = tf.minimum(y0 + 1, height - 1)
    flat = tf.reshape(image, [-1, shape[3]])
    base = (tf.range(batch) * height * width)[:, None, None]

    def gather(yy, xx):
        return tf.gather(flat, base + yy * width + xx)

    top = gather(y0, x0) * (1.0 - weight_x) + gather(y0, x1) * weight_x
    bottom = gather(y1, x0) * (1.0 - weight_x) + gather(y1, x1) * weight_x
    return tf.cast(top * (1.0 - weight_y) + bottom * weight_y, dtype)


@keras.saving.register_keras_serializable(package="vfi")
class BackwardWarp(keras.layers.Layer):
    """Keras layer around :func:`backward_warp`: ``BackwardWarp()([image, flow])`` (computes in float32)."""

    def call(self, inputs):
        image, flow = inputs
        return backward_warp(image, flow)
