"""Figures, GIFs and the interactive viewer (plotting boilerplate lives here, not in notebooks)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import cv2
import imageio.v3 as iio
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from PIL import Image

from utils import paths
from utils.media import image_io


def as_float(image: np.ndarray) -> np.ndarray:
    """An image as float32 in [0, 1] (``uint8`` scaled, floats clipped)."""
    return image_io.to_float(image) if image.dtype == np.uint8 else np.clip(image, 0.0, 1.0)


def motion_box(frame1: np.ndarray, frame3: np.ndarray, size: int = 64) -> tuple[int, int, int, int]:
    """Returns the (top, left, height, width) square where the two frames differ most.

    That is where blending ghosts and where a zoomed crop shows the difference between methods.
    """
    difference = np.abs(as_float(frame1) - as_float(frame3)).mean(axis=-1)
    height, width = difference.shape
    size = min(size, height, width)
    integral = np.pad(difference.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size]
    top, left = np.unravel_index(np.argmax(sums), sums.shape)
    return int(top), int(left), size, size


def show_triplet(frames: Sequence[np.ndarray], titles: Sequence[str] = ("frame 1", "frame 2 (truth)", "frame 3"),
                 figure_width: float = 12.0):
    """Shows images side by side with titles; returns the figure."""
    figure, axes = plt.subplots(1, len(frames), figsize=(figure_width, figure_width / len(frames) * 0.8),
                                squeeze=False)
    for axis, frame, title in zip(axes[0], frames, titles):
        axis.imshow(as_float(frame))
        axis.set_title(title)
        axis.axis("off")
    figure.tight_layout()
    return figure


def comparison_grid(
    examples: Sequence[dict[str, np.ndarray]],
    scores: Sequence[dict[str, str]] | None = None,
    crop_size: int | None = None,
    path: str | Path | None = None,
):
    """Compares methods on several triplets: full frames on top, zoomed crops below.

    Args:
        examples: one dict per triplet, name -> image, in column order; must include
            ``"frame 1"``, ``"frame 3"`` (to find where things move) and usually ``"truth"``.
        scores: optional text under each method's crop (e.g. PSNR), one dict per example.
        crop_size: side of the zoomed square (default: a third of the frame's shorter side), placed
            where frame 1 and frame 3 differ most.
        path: if given, the figure is saved there (atomically).

    Returns:
        The matplotlib figure.
    """
    columns = list(examples[0])
    aspects = [example["frame 1"].shape[0] / example["frame 1"].shape[1] for example in examples]
    ratios = [r for aspect in aspects for r in (aspect, 1.0)]
    # Every box exactly as tall as its image at the column width, so no row leaves an empty band: the
    # figure's height is the images' heights plus fixed gaps (titles on top, scores under the crops).
    cell, wspace, gap, top_margin, bottom_margin = 2.2, 0.04, 0.28, 0.3, 0.28
    width = cell * len(columns)
    column_width = 0.99 * width / (len(columns) + (len(columns) - 1) * wspace)
    height = column_width * sum(ratios) + gap * (len(ratios) - 1) + top_margin + bottom_margin
    figure, axes = plt.subplots(2 * len(examples), len(columns), squeeze=False, figsize=(width, height),
                                gridspec_kw={"height_ratios": ratios})
    figure.subplots_adjust(left=0.005, right=0.995, top=1 - top_margin / height, bottom=bottom_margin / height,
                           wspace=wspace, hspace=gap / (column_width * sum(ratios) / len(ratios)))
    for row, example in enumerate(examples):
        side = crop_size or max(32, min(example["frame 1"].shape[:2]) // 3)
        top, left, height, width = motion_box(example["frame 1"], example["frame 3"], side)
        for column, name in enumerate(columns):
            image = as_float(example[name])
            full, zoom = axes[2 * row, column], axes[2 * row + 1, column]
            full.imshow(image)
            full.add_patch(Rectangle((left, top), width, height, fill=False, edgecolor="yellow", linewidth=1.2))
            zoom.imshow(image[top:top + height, left:left + width], interpolation="nearest")
            if row == 0:
                full.set_title(name, fontsize=10)
            if scores is not None and name in scores[row]:
                zoom.set_xlabel(scores[row][name], fontsize=9)
            for axis in (full, zoom):
                axis.set_xticks([])
                axis.set_yticks([])
    if path is not None:
        save_figure(figure, path)
    return figure


def finish(figure, path=None, axis=None):
    """Grid and legend on ``axis`` (when given), a tight layout, and the figure saved to ``path`` (when given).

    Returns:
        The figure.
    """
    if axis is not None:
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure


def save_figure(figure, path: str | Path, dpi: int = 110) -> Path:
    """Saves a matplotlib figure atomically (temporary file, then rename)."""
    with paths.atomic_target(path) as temporary:
        figure.savefig(temporary, dpi=dpi, bbox_inches="tight")
    return Path(path)


def save_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float = 10.0, max_width: int | None = 320) -> Path:
    """Writes frames as a looping GIF (atomically), downscaled to ``max_width`` to stay small.

    Args:
        frames: ``uint8`` or float images, all the same size.
        path: destination ``.gif``.
        fps: playback frame rate.
        max_width: resize wider frames to this width (``None`` keeps the size).

    Returns:
        The destination path.
    """

    if len(frames) < 2:
        raise ValueError(f"save_gif needs at least 2 frames for {path}, got {len(frames)}.")
    images = [image_io.to_uint8(as_float(f)) for f in frames]
    height, width = images[0].shape[:2]
    if max_width is not None and width > max_width:
        size = (max_width, int(round(height * max_width / width)))
        images = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in images]
    with paths.atomic_target(path) as temporary:
        iio.imwrite(temporary, np.stack(images), extension=".gif", duration=1000.0 / fps, loop=0)
    return Path(path)


def plot_histories(histories: dict[str, dict[str, Sequence[float]]], metric: str = "val_psnr", path=None):
    """Plots one metric per epoch for several runs (e.g. the three losses); returns the figure."""
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for name, history in histories.items():
        values = history[metric]
        axis.plot(range(1, len(values) + 1), values, marker="o", label=name)
    axis.set_xlabel("epoch")
    axis.set_ylabel(metric)
    return finish(figure, path, axis)


VIEWER_STAGES = ("frame 1", "prediction", "truth", "frame 3", "error ×4")


def viewer_image(example: dict[str, np.ndarray], method: str, stage: str) -> np.ndarray:
    """The picture the viewer shows for a method and a slider position (``uint8`` RGB).

    Args:
        example: {"frame 1", "frame 3", "truth", and one entry per method}.
        method: a method name in ``example``.
        stage: one of :data:`VIEWER_STAGES`; ``error ×4`` is |prediction - truth| amplified four times.
    """
    if stage not in VIEWER_STAGES:
        raise ValueError(f"Unknown viewer stage {stage!r}: expected one of {', '.join(VIEWER_STAGES)}.")
    prediction, truth = as_float(example[method]), as_float(example["truth"])
    image = {"frame 1": example["frame 1"], "prediction": prediction, "truth": truth, "frame 3": example["frame 3"],
             "error ×4": np.clip(4 * np.abs(prediction - truth), 0, 1)}[stage]
    return image_io.to_uint8(as_float(np.asarray(image)))


def encode_image(image: np.ndarray, image_format: str = "jpeg") -> bytes:
    """Encodes a ``uint8`` RGB image as JPEG (quality 90; small, for photos) or PNG bytes.

    For widgets and ``IPython.display.Image(data=...)``: what a notebook stores stays small.
    """

    buffer = io.BytesIO()
    options = {"quality": 90} if image_format == "jpeg" else {"optimize": True}
    Image.fromarray(image).save(buffer, format=image_format.upper(), **options)
    return buffer.getvalue()


def triplet_viewer(examples: dict[str, dict[str, np.ndarray]], static_preview: bool = True):
    """Interactive viewer: pick a triplet and a method, slide frame 1 -> prediction -> truth -> frame 3.

    The last slider position shows the error map |prediction - truth|. Widgets need a live kernel;
    where they cannot render (GitHub, papermill output, nbviewer) the static preview above them, one
    row per method with its prediction and error map for the first triplet, tells the same story.

    Args:
        examples: triplet name -> {"frame 1", "frame 3", "truth", and one entry per method}.
        static_preview: also draw the static matplotlib preview.

    Returns:
        The ipywidgets container.
    """
    import ipywidgets as widgets  # deferred: only the interactive viewer needs the widgets
    from IPython.display import (
        display,  # deferred: only the interactive viewer needs IPython
    )

    names = list(examples)
    first = examples[names[0]]
    methods = [m for m in first if m not in ("frame 1", "frame 3", "truth")]
    if static_preview:
        rows = [[viewer_image(first, method, stage) for stage in ("prediction", "error ×4")] for method in methods]
        figure = image_grid(rows, column_titles=["prediction", "error ×4"], cell_size=1.8)
        for axis, method in zip(figure.axes[::2], methods):
            axis.text(-0.02, 0.5, method, transform=axis.transAxes, ha="right", va="center", fontsize=9)
        plt.show()
    triplet = widgets.Dropdown(options=names, description="triplet")
    method = widgets.Dropdown(options=methods, description="method")
    stage = widgets.SelectionSlider(options=VIEWER_STAGES, value="prediction", description="show",
                                    continuous_update=True, layout=widgets.Layout(width="420px"))
    picture = widgets.Image(format="jpeg")
    caption = widgets.Label()

    def draw(*_):
        picture.value = encode_image(viewer_image(examples[triplet.value], method.value, stage.value))
        caption.value = f"{triplet.value}: {stage.value}" + (
            f" ({method.value})" if stage.value in ("prediction", "error ×4") else "")

    for control in (triplet, method, stage):
        control.observe(draw, names="value")
    draw()
    container = widgets.VBox([widgets.HBox([triplet, method]), stage, caption, picture])
    display(container)
    return container


def image_grid(rows: Sequence[Sequence[np.ndarray]], column_titles: Sequence[str] | None = None,
               cell_size: float = 2.6):
    """Shows rows of images (arrays or tensors in [0, 1] or ``uint8``); returns the figure.

    Each row is as tall as its first image's aspect asks (``cell_size`` inches wide per image), so rows of
    wide frames leave no empty bands.
    """
    ratios = [np.asarray(row[0]).shape[0] / np.asarray(row[0]).shape[1] for row in rows]
    title_space = 0.3 if column_titles is not None else 0.0
    figure, axes = plt.subplots(len(rows), len(rows[0]), squeeze=False, gridspec_kw={"height_ratios": ratios},
                                figsize=(cell_size * len(rows[0]), cell_size * sum(ratios) + title_space))
    for row_index, row in enumerate(rows):
        for column_index, image in enumerate(row):
            axis = axes[row_index, column_index]
            axis.imshow(as_float(np.asarray(image)))
            axis.axis("off")
            if row_index == 0 and column_titles is not None:
                axis.set_title(column_titles[column_index])
    figure.tight_layout()
    return figure


def plot_series(series: dict[str, Sequence[float]], xlabel: str, ylabel: str, threshold: float | None = None,
                path: str | Path | None = None):
    """Plots named series against their index, with an optional horizontal threshold; returns the figure."""
    figure, axis = plt.subplots(figsize=(7, 3))
    for name, values in series.items():
        axis.plot(values, label=name)
    if threshold is not None:
        axis.axhline(threshold, color="red", linestyle="--", label=f"threshold {threshold}")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    return finish(figure, path, axis)


def motion_amount(frame1: np.ndarray, frame3: np.ndarray) -> float:
    """Mean absolute difference between two frames (0..1): a cheap measure of how much moves."""
    return float(np.abs(as_float(frame1) - as_float(frame3)).mean())


def labelled_panels(images: dict[str, np.ndarray], max_width: int | None = 240) -> np.ndarray:
    """Puts images side by side, each with its name written on a bar above it; returns ``uint8`` RGB.

    Args:
        images: name -> image (same size), in panel order.
        max_width: each panel is resized to at most this width.
    """

    panels = []
    for name, image in images.items():
        panel = image_io.to_uint8(as_float(np.asarray(image)))
        height, width = panel.shape[:2]
        if max_width is not None and width > max_width:
            panel = cv2.resize(panel, (max_width, int(round(height * max_width / width))), interpolation=cv2.INTER_AREA)
        bar = np.full((18, panel.shape[1], 3), 255, np.uint8)
        cv2.putText(bar, name, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        panels.append(np.concatenate([bar, panel], axis=0))
    gap = np.full((panels[0].shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([p for panel in panels for p in (panel, gap)][:-1], axis=1)


def save_side_by_side_gif(sequences: dict[str, Sequence[np.ndarray]], path: str | Path, fps: float = 10.0,
                          panel_width: int | None = 240) -> Path:
    """Writes a GIF whose frames show several sequences side by side, each labelled (e.g. truth | model | DIS).

    Args:
        sequences: name -> frames; all sequences have the same length and frame size.
        path: destination ``.gif``.
        fps: playback frame rate.
        panel_width: each panel is resized to at most this width.
    """
    lengths = {len(frames) for frames in sequences.values()}
    if len(lengths) != 1:
        raise ValueError(f"save_side_by_side_gif needs sequences of one length for {path}, got {sorted(lengths)}.")
    frames = [labelled_panels({name: sequence[index] for name, sequence in sequences.items()}, panel_width)
              for index in range(lengths.pop())]
    return save_gif(frames, path, fps=fps, max_width=None)


def plot_per_frame_scores(scores: dict[str, dict[str, dict[str, Sequence[float]]]], metric: str = "psnr",
                          path: str | Path | None = None):
    """One panel per clip: the per-frame ``metric`` of every method (e.g. rebuilt frames of a video); returns the figure.

    Args:
        scores: clip -> method -> {metric: [value per frame]}.
        metric: ``psnr`` or ``ssim``.
        path: also save the figure there.
    """
    figure, axes = plt.subplots(1, len(scores), figsize=(4.2 * len(scores), 3.2), squeeze=False)
    for axis, (clip, methods) in zip(axes[0], scores.items()):
        for method, values in methods.items():
            axis.plot(values[metric], marker="o", markersize=3, label=method)
        axis.set_title(clip)
        axis.set_xlabel("rebuilt frame")
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("PSNR (dB)" if metric == "psnr" else metric.upper())
    axes[0][-1].legend(fontsize=8)
    return finish(figure, path)
