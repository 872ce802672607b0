"""The time model's test-time ensemble (RIFE's ``--ensemble``): the pair also seen reversed in time and mirrored,
the answers brought back to the frame's own orientation and averaged.

A frame between A and B at time t is also the frame between B and A at 1 - t, and the mirror image of the frame
between the mirrored pair. The network is not exactly symmetric in either, so averaging its answers to these
views removes part of its error. The views of the time model's input (A, B, DIS's flows ``F_A->B`` and
``F_B->A``, the t plane):

- **reversed in time**: B and A swapped, the two flows swapped, t replaced by 1 - t (exact: DIS computed both
  directions);
- **mirrored**: every plane flipped left to right and the flows' horizontal components negated (DIS's flows of the
  mirrored pair are nearly, not exactly, these).

On the balanced validation set (``python -m utils.training.rejudge --ensembles``, ``results/training/ensembles.md``)
two views gain a few hundredths of a dB at full size and almost nothing at the video command's half size, where
the enlargement of the fields limits the frame, so the video command's ``auto`` spends them only where the frame
is small: as many views (1, 2 or 4) as keep the network's pixels per frame within what one frame of
:data:`utils.models.scaled.WORK_PIXELS` costs, and one view at a reduced scale (:func:`passes`).
"""

from __future__ import annotations

import numpy as np

from utils.models import scaled

AUTO = "auto"

VIEWS = ("as is", "reversed in time", "mirrored", "mirrored and reversed")  # the first n are an n-pass ensemble

CHOICES = (1, 2, 4)

_REVERSED = [3, 4, 5, 0, 1, 2, 8, 9, 6, 7, 10]  # B, A, F_B->A, F_A->B, t (then 1 - t)


def check_ensemble(ensemble) -> int | str:
    """``"auto"`` or 1, 2, 4; else ``ValueError`` naming ``--ensemble``."""
    if ensemble == AUTO:
        return AUTO
    if str(ensemble) in {str(n) for n in CHOICES}:
        return int(ensemble)
    raise ValueError(f"--ensemble must be 'auto', 1, 2 or 4 (views of each pair averaged), got {ensemble}.")


def passes(width: int, height: int, share: float, ensemble: int | str = AUTO) -> int:
    """How many views of a ``width`` x ``height`` pair to average at the network's ``share`` of the frame:
    ``ensemble`` itself, or for ``"auto"`` 1 at a reduced scale, else the most of 4 and 2 whose network pixels
    together stay within :data:`utils.models.scaled.WORK_PIXELS` (1 if neither does).

    >>> passes(176, 144, 1.0), passes(640, 360, 1.0), passes(960, 540, 1.0), passes(1280, 720, 0.5)
    (4, 2, 1, 1)
    """
    if ensemble != AUTO:
        return check_ensemble(ensemble)
    if share < 1.0:
        return 1
    return next((n for n in (4, 2) if n * width * height <= scaled.WORK_PIXELS), 1)


def view_inputs(inputs: np.ndarray, view: int) -> np.ndarray:
    """The time model's inputs (B, H, W, 11) as :data:`VIEWS` ``[view]`` shows them."""
    if view in (1, 3):
        inputs = inputs[..., _REVERSED]
        inputs[..., 10] = 1.0 - inputs[..., 10]
    if view in (2, 3):
        inputs = inputs[:, :, ::-1] * np.array([1] * 6 + [-1, 1, -1, 1, 1], np.float32)
    return np.ascontiguousarray(inputs, np.float32)


def view_pair(frame_a: np.ndarray, frame_b: np.ndarray, view: int) -> tuple[np.ndarray, np.ndarray]:
    """The full-size pair (H, W, 3) as :data:`VIEWS` ``[view]`` shows it (for the reduced scale's composition)."""
    if view in (1, 3):
        frame_a, frame_b = frame_b, frame_a
    if view in (2, 3):
        frame_a, frame_b = np.ascontiguousarray(frame_a[:, ::-1]), np.ascontiguousarray(frame_b[:, ::-1])
    return frame_a, frame_b


def view_pairs(pairs: np.ndarray, view: int) -> np.ndarray:
    """Full-size pairs stacked as (B, H, W, 6) (the training view's input) as :data:`VIEWS` ``[view]`` shows them."""
    if view in (1, 3):
        pairs = pairs[..., _REVERSED[:6]]
    return np.ascontiguousarray(pairs[:, :, ::-1] if view in (2, 3) else pairs)


def unview(frame: np.ndarray, view: int) -> np.ndarray:
    """A frame (..., H, W, 3) the network made for :data:`VIEWS` ``[view]``, in the pair's own orientation."""
    return frame[..., ::-1, :] if view in (2, 3) else frame


def averaged(frames_by_view: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Each time's frame: the mean of its views' frames (``frames_by_view[view][time]``, already unviewed)."""
    return [np.mean(views, axis=0) for views in zip(*frames_by_view)]
