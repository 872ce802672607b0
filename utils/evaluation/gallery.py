"""Figures of notebook 05: a header image, the most moving triplet, and what a network learned beyond averaging."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from utils.media import image_io, plots


def header_image(frame1: np.ndarray, frame3: np.ndarray, predicted: np.ndarray, width: int = 300) -> np.ndarray:
    """A labelled strip: frame 1 | average of 1 and 3 | the flow UNet's middle frame | frame 3 (``uint8``)."""
    average = 0.5 * (image_io.to_float(frame1) + image_io.to_float(frame3))
    return plots.labelled_panels({"frame 1": frame1, "averaging: ghosts": average, "flow UNet: the middle frame":
                                predicted, "frame 3": frame3}, max_width=width)


def most_moving(triplets: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> int:
    """Index of the triplet whose frames 1 and 3 differ most."""
    return int(np.argmax([plots.motion_amount(t[0], t[2]) for t in triplets]))


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
        truth = plots.as_float(example["truth"])
        average, predicted = plots.as_float(example["frame average"]), plots.as_float(example[network])
        rows.append([example["frame 1"], average, predicted, truth,
                     np.clip(gain * np.abs(average - truth), 0, 1), np.clip(gain * np.abs(predicted - truth), 0, 1)])
    figure = plots.image_grid(rows, ["frame 1", "frame average", network, "truth", f"average error x{gain:g}",
                                   f"{network} error x{gain:g}"], cell_size=2.2)
    for axis, name in zip(figure.axes[::6], examples):
        axis.text(-0.04, 0.5, name, transform=axis.transAxes, rotation=90, va="center", ha="right", fontsize=9)
    if path is not None:
        plots.save_figure(figure, path, dpi=80)
    return figure
