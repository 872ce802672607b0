"""Classical interpolation baselines that every network must beat."""

from __future__ import annotations

import numpy as np

from utils import data


def frame_average(frame1: np.ndarray, frame3: np.ndarray) -> np.ndarray:
    """Blends the two frames 50/50: exact for static scenes, ghosts where things move.

    Args:
        frame1: ``uint8`` (H, W, 3).
        frame3: ``uint8`` (H, W, 3), same shape.

    Returns:
        ``float32`` (H, W, 3) in [0, 1].
    """
    if frame1.shape != frame3.shape:
        raise ValueError(f"frame_average needs frames of one size, got {frame1.shape} and {frame3.shape}.")
    return 0.5 * (data.to_float(frame1) + data.to_float(frame3))
