"""Losses and metrics for frame interpolation.

- Mean squared error: the classic; averages plausible answers, so it blurs.
- Charbonnier: sqrt((y - y_hat)^2 + eps^2), a smooth L1; robust to outliers, sharper.
- SSIM loss: 1 - SSIM, rewards local structure (contrast, edges) over exact values.
- PSNR loss (long runs only): minus each image's PSNR, so that every image weighs as the mean PSNR of
  validation weighs it.

Images are float tensors in [0, 1] of shape (batch, height, width, 3).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

CHARBONNIER_EPSILON = 1e-3


@keras.saving.register_keras_serializable(package="vfi")
def mse_loss(y_true, y_pred):
    """Mean squared error over pixels and channels (one value per image)."""
    y_true, y_pred = tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32)
    return tf.reduce_mean(tf.square(y_true - y_pred), axis=[1, 2, 3])


@keras.saving.register_keras_serializable(package="vfi")
def charbonnier_loss(y_true, y_pred, epsilon: float = CHARBONNIER_EPSILON):
    """Charbonnier loss mean(sqrt((y - y_hat)^2 + eps^2)) (one value per image)."""
    y_true, y_pred = tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32)
    return tf.reduce_mean(tf.sqrt(tf.square(y_true - y_pred) + epsilon**2), axis=[1, 2, 3])


@keras.saving.register_keras_serializable(package="vfi")
def ssim_loss(y_true, y_pred):
    """1 - SSIM (11x11 Gaussian window, sigma 1.5, data range 1) (one value per image)."""
    return 1.0 - ssim(y_true, y_pred)


PSNR_LOSS_FLOOR = 1e-5  # mean squared error added before the log: images past 50 dB count as 50 dB


@keras.saving.register_keras_serializable(package="vfi")
def psnr_loss(y_true, y_pred, floor: float = PSNR_LOSS_FLOOR):
    """Minus the PSNR of each image (dB), ``10 log10(MSE + floor)``: the validation score itself as a loss.

    A batch's mean squared error is ruled by its hardest images (a crop at 28 dB has 16 times the error of
    one at 40 dB), while the mean PSNR that ranks checkpoints counts one dB the same on every image. The
    gradient of this loss is the MSE's divided by each image's own error, so every image weighs as the
    metric weighs it. ``floor`` keeps a nearly static crop from taking all the weight.
    """
    return (10.0 / np.log(10.0)) * tf.math.log(mse_loss(y_true, y_pred) + floor)


LOSSES = {"mse": mse_loss, "charbonnier": charbonnier_loss, "ssim": ssim_loss}


# Losses for the long runs only (utils.training.longrun --loss); the tutorial's comparison trains the three above.
LONG_RUN_LOSSES = {**LOSSES, "psnr": psnr_loss}


def get_loss(name: str):
    """Returns the loss function called ``name`` (``mse``, ``charbonnier``, ``ssim`` or ``psnr``).

    Raises:
        ValueError: for any other name.
    """
    if name not in LONG_RUN_LOSSES:
        raise ValueError(f"Unknown loss {name!r}: expected one of {', '.join(LONG_RUN_LOSSES)}.")
    return LONG_RUN_LOSSES[name]


def flow_distillation(loss, weight: float):
    """``loss`` on the frame plus ``weight`` times a Charbonnier distance (in pixels) between the network's flows
    and the teacher's, where the teacher is trusted.

    For a network with a flow output (:func:`utils.models.unet.with_flows`: the frame, then ``F_t->1`` and ``F_t->3``,
    7 channels) trained on targets of :func:`utils.data.sampler.training_dataset` with ``teacher`` (the frame, the
    teacher flows and their weights, 9 channels). The frame's loss alone reaches a flow only through the
    image gradient at the warped pixel, which says little once the flow is off by more than a pixel; the
    teacher says where the pixel is.
    """

    def distilled(y_true, y_pred):
        y_true, y_pred = tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32)
        distance = tf.sqrt(tf.square(y_pred[..., 3:7] - y_true[..., 3:7]) + CHARBONNIER_EPSILON**2)
        per_end = 0.5 * (distance[..., 0::2] + distance[..., 1::2])  # (u + v) / 2 towards frame 1 and frame 3
        trusted = y_true[..., 7:9]
        flow_term = tf.reduce_sum(trusted * per_end, axis=[1, 2, 3]) / \
            tf.maximum(tf.reduce_sum(trusted, axis=[1, 2, 3]), 1.0)
        return loss(y_true[..., 0:3], y_pred[..., 0:3]) + weight * flow_term

    distilled.__name__ = f"{loss.__name__}_with_flow_distillation"
    return distilled


@keras.saving.register_keras_serializable(package="vfi")
def psnr(y_true, y_pred):
    """Peak signal-to-noise ratio in dB (data range 1; predictions clipped to [0, 1]), per image."""
    y_true = tf.cast(y_true, tf.float32)
    y_pred = tf.clip_by_value(tf.cast(y_pred, tf.float32), 0.0, 1.0)
    return tf.image.psnr(y_true, y_pred, max_val=1.0)


SSIM_WINDOW = 11


SSIM_SIGMA = 1.5


def _gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian whose outer product is SSIM's 2-D window."""
    coordinates = np.arange(size, dtype=np.float64) - (size - 1) / 2
    window = np.exp(-coordinates**2 / (2 * sigma**2))
    return (window / window.sum()).astype(np.float32)


@keras.saving.register_keras_serializable(package="vfi")
def ssim(y_true, y_pred):
    """Structural similarity (mean over the image and channels; data range 1), per image.

    Matches ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, channel_axis=-1)`` and ``tf.image.ssim(...,
    filter_size=11, filter_sigma=1.5)``. The 11x11 Gaussian window is separable, so the five local
    means (x, y, x^2, y^2, xy) are filtered as one stack by an 11x1 and a 1x11 depthwise convolution:
    22 multiply-adds per pixel instead of 121, which makes the SSIM loss's forward and backward pass about
    30% cheaper than ``tf.image.ssim``. The moments are taken around each image's mean, in float32:
    ``E[x^2] - E[x]^2`` loses digits to cancellation on smooth regions (``tf.image.ssim`` is 5e-4 away
    from scikit-image's float64 value on a frame brightened by 0.05; this is 1e-7 away). Images must be
    at least 11x11.
    """
    x = tf.cast(y_true, tf.float32)
    y = tf.cast(y_pred, tf.float32)
    # Moments of the values minus each image's mean (per channel): the same SSIM, without the float32
    # cancellation of E[x^2] - E[x]^2 on flat regions (exact 0 variance on a flat image).
    offset_x = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
    offset_y = tf.reduce_mean(y, axis=[1, 2], keepdims=True)
    x, y = x - offset_x, y - offset_y
    stack = tf.concat([x, y, x * x, y * y, x * y], axis=-1)
    window = tf.constant(_gaussian_window())
    for kernel_shape in ((1, SSIM_WINDOW), (SSIM_WINDOW, 1)):
        kernel = tf.tile(tf.reshape(window, (*kernel_shape, 1, 1)), [1, 1, tf.shape(stack)[-1], 1])
        stack = tf.nn.depthwise_conv2d(stack, kernel, strides=[1, 1, 1, 1], padding="VALID")
    mean_x, mean_y, mean_xx, mean_yy, mean_xy = tf.split(stack, 5, axis=-1)
    variance_x = mean_xx - mean_x * mean_x
    variance_y = mean_yy - mean_y * mean_y
    covariance = mean_xy - mean_x * mean_y
    mean_x, mean_y = mean_x + offset_x, mean_y + offset_y
    c1, c2 = 0.01**2, 0.03**2  # (K1 L)^2, (K2 L)^2 with data range L = 1
    luminance = (2 * mean_x * mean_y + c1) / (mean_x * mean_x + mean_y * mean_y + c1)
    structure = (2 * covariance + c2) / (variance_x + variance_y + c2)
    return tf.reduce_mean(luminance * structure, axis=[1, 2, 3])
