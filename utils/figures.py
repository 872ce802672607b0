"""Figures that explain the central idea, drawn from the data and the models themselves.

- :func:`occlusion_figure`: on a synthetic scene (exact ground truth), how averaging ghosts and where
  the middle frame's pixels are visible in both frames, only in frame 1 (about to be hidden) or only in
  frame 3 (just revealed);
- :func:`unet_figure`: the UNet's levels, filters and feature-map sizes, read from a built model;
- :func:`flow_head_outputs`, :func:`flow_mask_figure`: the flow-guided UNet's two flow fields (colour-coded)
  and its blend mask on real frames;
- :func:`header_image`: frame 1, averaging, the flow UNet and frame 3 side by side;
- :func:`learned_vs_average`: where a network's middle frame differs from the frame average, with both errors;
- :func:`longrun_curves`: the long runs' validation PSNR (above the baseline each network starts from)
  and training loss against CPU-hours and steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from utils import data, longrun, synthetic, viz

VISIBILITY_COLOURS = {  # category -> (label, RGB)
    0: ("visible in both frames", (0.80, 0.80, 0.80)),
    1: ("only in frame 1 (about to be hidden)", (0.16, 0.45, 0.85)),
    2: ("only in frame 3 (just revealed)", (0.93, 0.45, 0.10)),
    3: ("in neither", (0.10, 0.10, 0.10)),
}


# ----------------------------------------------------------------------------
# Occlusion on synthetic scenes
# ----------------------------------------------------------------------------
def visibility_map(scene: synthetic.Scene, t: float = 0.5) -> np.ndarray:
    """Where each pixel of the frame at time ``t`` can be found in frame 1 and frame 3.

    A pixel shows a point of its front-most layer; that point moved with the layer (its affine map,
    :meth:`synthetic.Layer.matrix`), so it sits at ``M_0 M_t^-1 p`` in frame 1 and at ``M_1 M_t^-1 p``
    in frame 3, where it is visible only if the same layer is in front there.

    Returns:
        ``int`` (H, W): 0 visible in both, 1 only in frame 1, 2 only in frame 3, 3 in neither
        (see ``VISIBILITY_COLOURS``).
    """
    height, width = scene.size
    _, front = synthetic.render(scene, t)
    _, front_1 = synthetic.render(scene, 0.0)
    _, front_3 = synthetic.render(scene, 1.0)
    grid_y, grid_x = np.mgrid[0:height, 0:width]
    in_1 = np.zeros((height, width), bool)
    in_3 = np.zeros((height, width), bool)
    points = np.stack([grid_x, grid_y, np.ones_like(grid_x)], axis=-1).astype(np.float32)
    for index, layer in enumerate(scene.layers):
        here = front == index
        # canvas at t -> texture -> canvas at 0 and at 1 (the layer's affine maps)
        to_texture = cv2.invertAffineTransform(layer.matrix(t))
        for time, other, seen in ((0.0, front_1, in_1), (1.0, front_3, in_3)):
            mapping = layer.matrix(time) @ np.vstack([to_texture, [0, 0, 1]])
            moved = points @ mapping.T
            x = np.clip(np.rint(moved[..., 0]).astype(int), 0, width - 1)
            y = np.clip(np.rint(moved[..., 1]).astype(int), 0, height - 1)
            seen |= here & (other[y, x] == index)
    return np.where(in_1 & in_3, 0, np.where(in_1, 1, np.where(in_3, 2, 3)))


def visibility_image(categories: np.ndarray) -> np.ndarray:
    """Colours a :func:`visibility_map` (float RGB)."""
    palette = np.array([VISIBILITY_COLOURS[k][1] for k in sorted(VISIBILITY_COLOURS)], np.float32)
    return palette[categories]


def occlusion_figure(seed: int = 3, size: tuple[int, int] = (160, 224), path=None):
    """Frame 1, the true middle frame, frame 3, their average, and where the middle frame is visible.

    The average shows every moving object twice (ghosts); the visibility map shows why a network
    must do more than move pixels: the blue parts exist only in frame 1 and the orange only in frame 3,
    so there it must take the pixel from one frame and ignore the other.
    """
    rng = np.random.default_rng(seed)
    scene = synthetic.random_scene(rng, size)
    frame1, truth, frame3 = (synthetic.render(scene, t)[0] for t in (0.0, 0.5, 1.0))
    categories = visibility_map(scene)
    panels = [frame1, truth, frame3, 0.5 * (frame1 + frame3), visibility_image(categories)]
    titles = ["frame 1", "middle frame (truth)", "frame 3", "average of 1 and 3: ghosts", "where the middle is visible"]
    figure, axes = plt.subplots(1, 5, figsize=(16, 3.4))
    for axis, image, title in zip(axes, panels, titles):
        axis.imshow(np.clip(image, 0, 1))
        axis.set_title(title, fontsize=10)
        axis.axis("off")
    handles = [Rectangle((0, 0), 1, 1, color=colour) for _, colour in VISIBILITY_COLOURS.values()]
    shares = [100.0 * np.mean(categories == k) for k in sorted(VISIBILITY_COLOURS)]
    labels = [f"{label} ({share:.0f}%)" for (label, _), share in zip(VISIBILITY_COLOURS.values(), shares)]
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    if path is not None:
        viz.save_figure(figure, path, dpi=80)
    return figure


# ----------------------------------------------------------------------------
# The UNet, drawn from the model
# ----------------------------------------------------------------------------
def unet_levels(model) -> list[dict]:
    """Per level of a UNet built by :mod:`utils.model`: encoder and decoder filters, read from its layers."""
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
        model: a model from :func:`utils.model.build_unet` (any head).
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
    from utils import model as model_lib

    blend = model_lib.flow_blend(model)
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
    figure.tight_layout()
    if path is not None:
        viz.save_figure(figure, path)
    return figure


# ----------------------------------------------------------------------------
# The flow head's flows and mask
# ----------------------------------------------------------------------------
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
    import keras
    import tensorflow as tf

    from utils import model as model_lib

    blend = model_lib.flow_blend(model)
    if blend is None:
        raise ValueError(f"{model.name} is not a flow-guided UNet (no FlowBlend layer).")
    probe = keras.Model(model.inputs[0], [model.get_layer("heads").output, model.output])
    inputs = model_lib.model_inputs(frame1, frame3, 10)
    heads, prediction = probe(inputs, training=False)
    parts = blend.split_heads(tf.cast(heads, tf.float32))
    logit = np.asarray(parts["mask_logit"], np.float32)[0]
    prediction = np.asarray(prediction, np.float32)[0]
    height, width = frame1.shape[:2]
    prior = inputs[0, ..., 6:10]
    flows = prior
    if "flow_update" in parts:
        flows = prior + model_lib.FLOW_SCALE * np.asarray(parts["flow_update"], np.float32)[0, :height, :width]
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
        error = np.clip(4.0 * np.abs(outputs["prediction"] - data.to_float(truth)).mean(-1), 0, 1)
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
        viz.save_figure(figure, path, dpi=80)
    return figure


def header_image(frame1: np.ndarray, frame3: np.ndarray, predicted: np.ndarray, width: int = 300) -> np.ndarray:
    """A labelled strip: frame 1 | average of 1 and 3 | the flow UNet's middle frame | frame 3 (``uint8``)."""
    average = 0.5 * (data.to_float(frame1) + data.to_float(frame3))
    return viz.labelled_panels({"frame 1": frame1, "averaging: ghosts": average, "flow UNet: the middle frame":
                                predicted, "frame 3": frame3}, max_width=width)


def most_moving(triplets: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> int:
    """Index of the triplet whose frames 1 and 3 differ most."""
    return int(np.argmax([viz.motion_amount(t[0], t[2]) for t in triplets]))


# ----------------------------------------------------------------------------
# Long runs
# ----------------------------------------------------------------------------
LONGRUN_BASELINES = {"flow": ("dis", "flow-guided UNet", "DIS flow"),
                     "unet": ("average", "UNet (residual)", "frame averaging"),
                     "flow_time": ("dis", "time-conditioned flow UNet (t = 1/4, 1/2, 3/4)", "DIS flow at t")}


FOLLOW_COLORS = ("tab:green", "tab:red", "tab:purple", "tab:brown")
PROBE_STYLES = ("o-", "s--", "^:", "d-.")
LOSS_LABELS = {"mse": "MSE", "charbonnier": "Charbonnier", "ssim": "1 - SSIM", "psnr": "minus PSNR, dB"}


def longrun_curves(states: dict[str, dict], path=None,
                   continuations: dict[str, list[tuple[str, str, dict]]] | None = None):
    """Validation PSNR above each network's starting baseline, and training loss, against training time.

    Args:
        states: run name (``flow``, ``unet``, ``flow_time``) -> its ``state.json`` (:func:`utils.longrun.read_state`).
        path: where to save the figure (optional).
        continuations: run name -> [(folder, label, state), ...] of runs that continue it
            (:func:`utils.longrun.continuations`: warm-started from its best
            weights, or from a run that did): each drawn in its panel from the CPU-hours behind its starting
            weights (its ``warm_start`` record), counted from where the panel's run started.

    Returns:
        The matplotlib figure: one panel per run, CPU-hours below, steps on top, the training loss on
        the right axis.
    """
    figure, axes = plt.subplots(1, len(states), figsize=(5.2 * len(states), 3.4), squeeze=False)
    for axis, (name, state) in zip(axes[0], states.items()):
        key, title, label = LONGRUN_BASELINES[name]
        history = state["history"]
        hours = np.array([h["cpu_hours"] for h in history])
        steps = np.array([h["step"] for h in history])
        gain = np.array([h["val_psnr"] for h in history]) - state["baselines"][key]
        axis.plot(hours, gain, "o-", markersize=3, color="tab:blue", label="validation PSNR")
        for (_, follow_label, follow), color in zip((continuations or {}).get(name, []), FOLLOW_COLORS):
            start = follow["warm_start"]
            offset = longrun.hours_before(follow) - longrun.hours_before(state)
            follow_hours = offset + np.array([h["cpu_hours"] for h in follow["history"]])
            follow_gain = np.array([h["val_psnr"] for h in follow["history"]]) - follow["baselines"][key]
            donor = Path(start["weights"]).parent.name if "weights" in start else "the run"
            axis.plot(follow_hours, follow_gain, "s-", markersize=3, color=color,
                      label=f"{follow_label} (from {donor}'s step {start['step']:,})")
        axis.axhline(0.0, color="grey", linewidth=1, label=f"{label} ({state['baselines'][key]:.2f} dB)")
        axis.set_xlabel("training CPU-hours")
        axis.set_ylabel(f"dB above {label}")
        axis.set_title(f"{title}: {state['step']} steps", fontsize=10)
        if len(hours) > 1 and hours[-1] > 0:
            # default arguments bind this panel's arrays (a plain closure would see the last panel's at draw time)
            top = axis.secondary_xaxis("top", functions=(lambda x, h=hours, s=steps: np.interp(x, h, s),
                                                         lambda x, h=hours, s=steps: np.interp(x, s, h)))
            top.set_xlabel("steps", fontsize=8)
        losses = [(h["cpu_hours"], h["train_loss"]) for h in history if h.get("train_loss") is not None]
        if losses:
            right = axis.twinx()
            right.plot(*zip(*losses), "--", color="tab:orange", linewidth=1, label="training loss")
            right.set_ylabel(f"training loss ({LOSS_LABELS.get(state.get('config', {}).get('loss'), 'Charbonnier')})", fontsize=8)
            right.tick_params(labelsize=7)
            lines = axis.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
            axis.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="lower right")
        else:
            axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    if path is not None:
        viz.save_figure(figure, path)
    return figure


def learned_vs_average(examples: dict[str, dict[str, np.ndarray]], network: str, path=None, gain: float = 4.0):
    """What a network learned that averaging cannot: its frame, the average, and both errors, per example.

    Args:
        examples: name -> ``{"frame 1", "frame 3", "truth", "frame average", network: ...}`` (``uint8`` or float).
        network: the key of the network's prediction.
        path: where to save the figure (optional).
        gain: the absolute errors are multiplied by this to be visible.

    Returns:
        The figure: one row per example with frame 1, the average, the network, the truth, the average's error
        and the network's error (brighter is worse).
    """
    rows = []
    for example in examples.values():
        truth = viz.as_float(example["truth"])
        average, predicted = viz.as_float(example["frame average"]), viz.as_float(example[network])
        rows.append([example["frame 1"], average, predicted, truth,
                     np.clip(gain * np.abs(average - truth), 0, 1), np.clip(gain * np.abs(predicted - truth), 0, 1)])
    figure = viz.image_grid(rows, ["frame 1", "frame average", network, "truth", f"average error x{gain:g}",
                                   f"{network} error x{gain:g}"], cell_size=2.2)
    for axis, name in zip(figure.axes[::6], examples):
        axis.text(-0.04, 0.5, name, transform=axis.transAxes, rotation=90, va="center", ha="right", fontsize=9)
    if path is not None:
        viz.save_figure(figure, path, dpi=80)
    return figure


def probe_curves(states: dict[str, dict], baseline: str = "dis", path=None):
    """Short runs side by side: validation PSNR above ``baseline`` against steps, one line per run.

    Args:
        states: label -> a run's ``state.json`` (e.g. configurations of the flow UNet tried for a few thousand steps).
        baseline: ``dis`` or ``average`` (the key of ``state["baselines"]``).
        path: where to save the figure (optional).
    """
    figure, axis = plt.subplots(figsize=(9.6, max(3.4, 0.22 * len(states))))  # room for the legend's lines
    for index, (label, state) in enumerate(states.items()):
        steps = [h["step"] for h in state["history"]]
        gains = [h["val_psnr"] - state["baselines"][baseline] for h in state["history"]]
        if "(shipped:" in label:  # the run whose weights are shipped stands out
            axis.plot(steps, gains, "o-", color="black", linewidth=2.2, markersize=3, label=label, zorder=3)
            continue
        # past ten lines the colour cycle repeats: each ten after that with other markers and dashes
        axis.plot(steps, gains, PROBE_STYLES[index // 10 % len(PROBE_STYLES)], markersize=3, label=label)
    axis.axhline(0.0, color="grey", linewidth=1)
    axis.set_xlabel("steps (a batch each)")
    axis.set_ylabel(f"validation dB above {LONGRUN_BASELINES['flow' if baseline == 'dis' else 'unet'][2]}")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the curves, not over them
    figure.tight_layout()
    if path is not None:
        viz.save_figure(figure, path)
    return figure
