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

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

from utils.media import plots
from utils.training import records
from utils.training.run_state import RunState

LONGRUN_BASELINES = {"flow": ("dis", "flow-guided UNet", "DIS flow"),
                     "unet": ("average", "UNet (residual)", "frame averaging"),
                     "flow_time": ("dis", "time-conditioned flow UNet (t = 1/4, 1/2, 3/4)", "DIS flow at t")}


FOLLOW_COLORS = ("tab:green", "tab:red", "tab:purple", "tab:brown")


PROBE_STYLES = ("o-", "s--", "^:", "d-.")


LOSS_LABELS = {"mse": "MSE", "charbonnier": "Charbonnier", "ssim": "1 - SSIM", "psnr": "minus PSNR, dB"}


def longrun_curves(states: dict[str, RunState], path=None,
                   continuations: dict[str, list[tuple[str, str, RunState]]] | None = None,
                   shipped: dict[str, str] | None = None):
    """Validation PSNR above each network's starting baseline, and training loss, against training time.

    Args:
        states: run name (``flow``, ``unet``, ``flow_time``) -> its state (:func:`utils.training.run_state.read_state`).
        path: where to save the figure (optional).
        continuations: run name -> [(folder, label, state), ...] of runs that continue it
            (:func:`utils.training.records.continuations`: warm-started from its best
            weights, or from a run that did): each drawn in its panel from the CPU-hours behind its starting
            weights (its :class:`~utils.training.run_state.WarmStart`), counted from where the panel's run started.
        shipped: run name -> the folder whose best weights are shipped (default: read from the shipped models'
            records, :func:`utils.training.records.shipped_runs`): drawn strong and labelled, the others light.

    Returns:
        The matplotlib figure: one panel per run, CPU-hours below, steps on top, the training loss on
        the right axis, the legend under each panel (it covers no curve).
    """
    shipped = records.shipped_runs() if shipped is None else shipped
    figure, axes = plt.subplots(1, len(states), figsize=(5.4 * len(states), 4.6), squeeze=False)
    for axis, (name, state) in zip(axes[0], states.items()):
        key, title, label = LONGRUN_BASELINES[name]
        history = state.history
        hours = np.array([h.cpu_hours for h in history])
        steps = np.array([h.step for h in history])
        gain = np.array([h.val_psnr for h in history]) - state.baselines[key]
        runs = [(name, "validation PSNR", "tab:blue", hours, gain)]
        for (folder, follow_label, follow), color in zip((continuations or {}).get(name, []), FOLLOW_COLORS):
            offset = follow.hours_before - state.hours_before
            follow_hours = offset + np.array([h.cpu_hours for h in follow.history])
            follow_gain = np.array([h.val_psnr for h in follow.history]) - follow.baselines[key]
            donor = Path(follow.warm_start.weights).parent.name
            judged = "" if follow.validation_digest == state.validation_digest else \
                ("; balanced validation, mean of full and half size" if "-scaled" in str(follow.validation_digest)
                 else "; another validation set")
            runs.append((folder, f"{follow_label} (from {donor}'s step {follow.warm_start.step:,}{judged})", color,
                         follow_hours, follow_gain))
        for folder, run_label, color, run_hours, run_gain in runs:
            strong = shipped.get(name) in (None, folder)
            axis.plot(run_hours, run_gain, "o-" if folder == name else "s-", markersize=3 if strong else 2,
                      color=color, alpha=1.0 if strong else 0.35, linewidth=1.8 if strong else 1.0, zorder=3 if strong else 2,
                      label=run_label + (" (shipped)" if shipped.get(name) == folder else ""))
        axis.axhline(0.0, color="grey", linewidth=1, label=f"{label} ({state.baselines[key]:.2f} dB)")
        axis.set_xlabel("training CPU-hours")
        axis.set_ylabel(f"dB above {label}")
        axis.set_title(f"{title}: {state.step:,} steps", fontsize=10)
        if len(hours) > 1 and hours[-1] > 0:
            # default arguments bind this panel's arrays (a plain closure would see the last panel's at draw time)
            top = axis.secondary_xaxis("top", functions=(lambda x, h=hours, s=steps: np.interp(x, h, s),
                                                         lambda x, h=hours, s=steps: np.interp(x, s, h)))
            top.set_xlabel("steps (the panel's own run)", fontsize=8)
            top.xaxis.set_major_locator(MaxNLocator(5))
            top.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:g}k" if value else "0"))
            top.tick_params(labelsize=7)
        losses = [(h.cpu_hours, h.train_loss) for h in history if h.train_loss is not None]
        lines = axis.get_legend_handles_labels()[0]
        if losses:
            right = axis.twinx()
            right.plot(*zip(*losses), "--", color="tab:orange", linewidth=0.8, alpha=0.6, label="training loss")
            right.set_ylabel(f"training loss ({LOSS_LABELS.get(state.config.loss, 'Charbonnier')})", fontsize=8)
            right.tick_params(labelsize=7)
            lines += right.get_legend_handles_labels()[0]
        axis.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="upper center",
                    bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=False)
    return plots.finish(figure, path)


def probe_curves(states: dict[str, RunState], baseline: str = "dis", path=None):
    """Short runs side by side: validation PSNR above ``baseline`` against steps, one line per run.

    Args:
        states: label -> a run's state (e.g. configurations of the flow UNet tried for a few thousand steps).
        baseline: ``dis`` or ``average`` (a key of ``state.baselines``).
        path: where to save the figure (optional).
    """
    figure, axis = plt.subplots(figsize=(9.6, max(3.4, 0.22 * len(states))))  # room for the legend's lines
    for index, (label, state) in enumerate(states.items()):
        steps = [h.step for h in state.history]
        gains = [h.val_psnr - state.baselines[baseline] for h in state.history]
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
    return plots.finish(figure, path)
