"""Figures of what a UNet computes: its levels and feature maps, and the flow head's flows and blend mask."""

from __future__ import annotations

import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from utils.media import image_io, plots
from utils.models import interpolator, unet


def unet_levels(model) -> list[dict]:
    """Per level of a UNet built by :mod:`utils.models.unet`: encoder and decoder filters, read from its layers."""
    levels = []
    level = 0
    names = {layer.name for layer in model.layers}
    while f"down{level}_conv2" in names:
        entry = {"level": level, "down": model.get_layer(f"down{level}_conv2").filters}
        if f"dec{level}_conv2" in names:
            entry["up"] = model.get_layer(f"dec{level}_conv2").filters
        levels.append(entry)
        level += 1
    if not levels:
        raise ValueError(f"{model.name} has no layers named down0_conv2...: not a UNet from utils.model.")
    return levels


def unet_figure(model, frame_size: tuple[int, int] = (256, 448), path=None):
    """Draws a UNet: one box per convolution block with its filters and feature-map size, pooling, upsampling, skips.

    Args:
        model: a model from :func:`utils.models.unet.build_unet` (any head).
        frame_size: (height, width) of the input frames, for the feature-map sizes.
        path: also save the figure there.
    """
    levels = unet_levels(model)
    depth = len(levels)
    height, width = frame_size
    channels = int(model.inputs[0].shape[-1])
    head = {6: "frames 1 and 3", 10: "frames 1 and 3 + DIS prior flows"}.get(channels, f"{channels} channels")
    figure, axis = plt.subplots(figsize=(11, 1.2 + 1.15 * depth))
    box_width, box_height, gap = 2.1, 0.62, 1.15

    def box(x, y, text, colour):
        axis.add_patch(Rectangle((x, y), box_width, box_height, facecolor=colour, edgecolor="black", linewidth=0.8))
        axis.text(x + box_width / 2, y + box_height / 2, text, ha="center", va="center", fontsize=8)

    def arrow(start, end, style="-|>", colour="black", dashed=False):
        axis.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=10, color=colour,
                                       linestyle="--" if dashed else "-", linewidth=1))

    left_x, right_x = 0.0, 7.4
    middle_x = (left_x + right_x) / 2
    for entry in levels:
        level = entry["level"]
        y = (depth - 1 - level) * gap
        size = f"{height // 2**level}x{width // 2**level}"
        if level == depth - 1:  # the bottleneck, between the two paths
            box(middle_x, y, f"2 x conv3x3 {entry['down']}\n{size}", "#e4d7f2")
            continue
        box(left_x, y, f"2 x conv3x3 {entry['down']}\n{size}", "#cfe3f7")
        box(right_x, y, f"2 x conv3x3 {entry['up']}\n{size}", "#f8dcc2")
        arrow((left_x + box_width, y + box_height / 2), (right_x, y + box_height / 2), colour="grey", dashed=True)
        below_left = (middle_x if level == depth - 2 else left_x) + box_width / 2
        below_right = (middle_x if level == depth - 2 else right_x) + box_width / 2
        arrow((left_x + box_width / 2, y), (below_left, y - gap + box_height), colour="#2a6db0")
        arrow((below_right, y - gap + box_height), (right_x + box_width / 2, y), colour="#c0601a")
    top_y = (depth - 1) * gap
    axis.text(left_x + box_width / 2, top_y + box_height + 0.35, f"input: {head}\n({channels} channels)",
              ha="center", fontsize=9)

    blend = unet.flow_blend(model)
    outputs = ", ".join(blend.head_names()) if blend is not None else ""
    output_text = f"heads: {outputs}\n-> warp + blend -> RGB" if outputs else "conv1x1 -> RGB"
    axis.text(right_x + box_width / 2, top_y + box_height + 0.35, output_text, ha="center", fontsize=9)
    axis.text(4.2, top_y + box_height + 0.15, "skip connections (concatenate)", ha="center", fontsize=8, color="grey")
    axis.text(left_x - 0.15, top_y / 2, "max pool 2x2", rotation=90, ha="right", va="center", fontsize=8,
              color="#2a6db0")
    axis.text(right_x + box_width + 0.15, top_y / 2, "bilinear upsample 2x", rotation=90, ha="left", va="center",
              fontsize=8, color="#c0601a")
    axis.set_title(f"{model.name}: {model.count_params():,} parameters, {depth} levels, frames of {height}x{width}",
                   fontsize=10)
    axis.set_xlim(-0.8, right_x + box_width + 0.8)
    axis.set_ylim(-0.3, top_y + box_height + 1.1)
    axis.axis("off")
    return plots.finish(figure, path)


def flow_to_colour(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-codes a flow field (H, W, 2): hue = direction, saturation = speed (white = still), as in Middlebury.

    Args:
        flow: (u, v) in pixels.
        max_magnitude: speed drawn fully saturated (default: the 99th percentile of this field).

    Returns:
        ``uint8`` RGB (H, W, 3).
    """
    u, v = flow[..., 0], flow[..., 1]
    magnitude = np.hypot(u, v)
    scale = max_magnitude or max(float(np.percentile(magnitude, 99)), 1e-3)
    hsv = np.zeros((*flow.shape[:2], 3), np.uint8)
    hsv[..., 0] = ((np.arctan2(-v, -u) / np.pi + 1.0) * 90.0).astype(np.uint8) % 180
    hsv[..., 1] = (np.clip(magnitude / scale, 0.0, 1.0) * 255).astype(np.uint8)
    hsv[..., 2] = 255
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def flow_head_outputs(model, frame1: np.ndarray, frame3: np.ndarray) -> dict[str, np.ndarray]:
    """Runs the flow-guided UNet and returns what it decided, not only its output.

    Returns:
        ``{"prior": (H, W, 4) DIS flows, "flows": (H, W, 4) final flows F_t->1 and F_t->3, "mask": (H, W)
        weight of frame 1 (1 = only frame 1, 0 = only frame 3), "prediction": (H, W, 3)}``.

    Raises:
        ValueError: for a model without the flow head.
    """
    import keras  # deferred: Keras loads TensorFlow; callers that never reach this line skip it
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    blend = unet.flow_blend(model)
    if blend is None:
        raise ValueError(f"{model.name} is not a flow-guided UNet (no FlowBlend layer).")
    probe = keras.Model(model.inputs[0], [model.get_layer("heads").output, model.output])
    inputs = interpolator.model_inputs(frame1, frame3, 10)
    heads, prediction = probe(inputs, training=False)
    parts = blend.split_heads(tf.cast(heads, tf.float32))
    logit = np.asarray(parts["mask_logit"], np.float32)[0]
    prediction = np.asarray(prediction, np.float32)[0]
    height, width = frame1.shape[:2]
    prior = inputs[0, ..., 6:10]
    flows = prior
    if "flow_update" in parts:
        flows = prior + unet.FLOW_SCALE * np.asarray(parts["flow_update"], np.float32)[0, :height, :width]
    mask = 1.0 / (1.0 + np.exp(-logit[:height, :width, 0]))
    return {"prior": prior, "flows": flows, "mask": mask, "prediction": np.clip(prediction, 0, 1)}


def flow_mask_figure(examples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], model, path=None):
    """One row per example: frame 1, frame 3, the two final flows (colour-coded), the blend mask, |prediction - truth|.

    Args:
        examples: name -> (frame 1, truth, frame 3), ``uint8``.
        model: the flow-guided UNet.
        path: also save the figure there.
    """
    columns = ["frame 1", "frame 3", "flow middle -> frame 1", "flow middle -> frame 3",
               "blend mask: frame 1 (red) / frame 3 (blue)", "error x4"]
    figure, axes = plt.subplots(len(examples), len(columns), figsize=(2.9 * len(columns), 2.1 * len(examples) + 0.5),
                                squeeze=False)
    for row, (name, (frame1, truth, frame3)) in enumerate(examples.items()):
        outputs = flow_head_outputs(model, frame1, frame3)
        speed = max(float(np.percentile(np.hypot(*outputs["flows"][..., 0:2].transpose(2, 0, 1)), 99)), 0.5)
        error = np.clip(4.0 * np.abs(outputs["prediction"] - image_io.to_float(truth)).mean(-1), 0, 1)
        images = [frame1, frame3, flow_to_colour(outputs["flows"][..., 0:2], speed),
                  flow_to_colour(outputs["flows"][..., 2:4], speed)]
        for column, image in enumerate(images):
            axes[row, column].imshow(image)
        # Centred on 0.5 (both frames equally) and stretched to the mask's own range, so small decisions show.
        spread = max(float(np.abs(outputs["mask"] - 0.5).max()), 0.02)
        axes[row, 4].imshow(outputs["mask"], cmap="coolwarm", vmin=0.5 - spread, vmax=0.5 + spread)
        axes[row, 5].imshow(error, cmap="magma", vmin=0.0, vmax=1.0)
        axes[row, 0].set_ylabel(name, fontsize=9)
        axes[row, 4].set_xlabel(f"mask {outputs['mask'].min():.2f}-{outputs['mask'].max():.2f}", fontsize=8)
        axes[row, 2].set_xlabel(f"saturated at {speed:.1f} px", fontsize=8)
    for column, title in enumerate(columns):
        axes[0, column].set_title(title, fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    if path is not None:
        plots.save_figure(figure, path, dpi=80)
    return figure
