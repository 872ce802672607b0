"""The UNet that turns two frames into the frame between them.

Original configuration: 5 levels with 32, 64, 128, 256, 512 filters, two 3x3 ReLU
convolutions per level, 2x2 max pooling, upsampling with skip concatenation and a
1x1 convolution to 3 channels; input frame 1 and frame 3 stacked as 6 channels.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

OUTPUT_MODES = ("direct", "residual")


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
        size = tf.shape(inputs)[1:3] * 2
        return tf.cast(tf.image.resize(inputs, size, method="bilinear"), inputs.dtype)


def _conv_block(x, filters: int, name: str):
    for index in (1, 2):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_conv{index}")(x)
    return x


def build_unet(
    base_filters: int = 32,
    depth: int = 5,
    output_mode: str = "direct",
    name: str = "unet",
) -> keras.Model:
    """Builds the frame-interpolation UNet.

    Args:
        base_filters: filters of the first level; level i has ``base_filters * 2**i``
            (the original: 32 -> 512 over 5 levels).
        depth: number of levels (``depth - 1`` poolings).
        output_mode: ``"direct"`` (the original: the 1x1 convolution outputs the RGB frame) or
            ``"residual"`` (the 1x1 convolution, initialised to zero, outputs a correction added
            to the average of the two frames; training starts from plain blending).
        name: model name.

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
    inputs = keras.Input(shape=(None, None, 6), name="frames_1_and_3")
    x = PadToMultiple(2 ** (depth - 1), name="pad")(inputs)
    skips = []
    for level in range(depth):
        x = _conv_block(x, base_filters * 2**level, name=f"down{level}")
        if level < depth - 1:
            skips.append(x)
            x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)
    for level in reversed(range(depth - 1)):
        x = Upsample2x(name=f"up{level}")(x)
        x = keras.layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _conv_block(x, base_filters * 2**level, name=f"dec{level}")
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


def predictor(model: keras.Model):
    """Returns a traced inference function for (batch, H, W, 6) float inputs of any size.

    One graph serves every frame size (the spatial dimensions are left unknown), so a loop over
    clips of different sizes does not retrace.
    """
    signature = [tf.TensorSpec((None, None, None, 6), tf.float32)]
    return tf.function(lambda inputs: model(inputs, training=False), input_signature=signature)


def interpolate(model, frame1: np.ndarray, frame3: np.ndarray) -> np.ndarray:
    """Predicts the middle frame of two ``uint8`` RGB frames of any (equal) size.

    Args:
        model: a model from :func:`build_unet`, or a function from :func:`predictor` (faster in loops).
        frame1: first frame, ``uint8`` (H, W, 3).
        frame3: third frame, same shape.

    Returns:
        The middle frame as ``float32`` (H, W, 3) in [0, 1].

    Raises:
        ValueError: if the frames differ in shape.
    """
    if frame1.shape != frame3.shape:
        raise ValueError(f"interpolate needs frames of one size, got {frame1.shape} and {frame3.shape}.")
    inputs = np.concatenate([frame1, frame3], axis=-1)[None].astype(np.float32) / 255.0
    prediction = model(inputs) if not isinstance(model, keras.Model) else model(inputs, training=False)
    return np.clip(np.asarray(prediction, dtype=np.float32)[0], 0.0, 1.0)


def as_method(model: keras.Model):
    """Wraps a model as a method ``(frame1, frame3) -> middle`` like the baselines (one traced graph)."""
    predict = predictor(model)
    return lambda frame1, frame3: interpolate(predict, frame1, frame3)
