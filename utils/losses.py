"""Losses and metrics for frame interpolation.

- Mean squared error: the classic; averages plausible answers, so it blurs.
- Charbonnier: sqrt((y - y_hat)^2 + eps^2), a smooth L1; robust to outliers, sharper.
- SSIM loss: 1 - SSIM, rewards local structure (contrast, edges) over exact values.

Images are float tensors in [0, 1] of shape (batch, height, width, 3).
"""

from __future__ import annotations

import keras
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


LOSSES = {"mse": mse_loss, "charbonnier": charbonnier_loss, "ssim": ssim_loss}


def get_loss(name: str):
    """Returns the loss function called ``name`` (``mse``, ``charbonnier`` or ``ssim``).

    Raises:
        ValueError: for any other name.
    """
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}: expected one of {', '.join(LOSSES)}.")
    return LOSSES[name]


@keras.saving.register_keras_serializable(package="vfi")
def psnr(y_true, y_pred):
    """Peak signal-to-noise ratio in dB (data range 1; predictions clipped to [0, 1]), per image."""
    y_true = tf.cast(y_true, tf.float32)
    y_pred = tf.clip_by_value(tf.cast(y_pred, tf.float32), 0.0, 1.0)
    return tf.image.psnr(y_true, y_pred, max_val=1.0)


@keras.saving.register_keras_serializable(package="vfi")
def ssim(y_true, y_pred):
    """Structural similarity (mean over the image and channels; data range 1), per image.

    Matches ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, channel_axis=-1)``.
    """
    y_true = tf.cast(y_true, tf.float32)
    y_pred = tf.cast(y_pred, tf.float32)
    return tf.image.ssim(y_true, y_pred, max_val=1.0, filter_size=11, filter_sigma=1.5)
