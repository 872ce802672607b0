"""Tiled inference: a UNet run on overlapping tiles of a large frame, blended with linear ramps.

A 4K frame does not fit one pass of the network in memory on a small machine; tiles whose starts lie on the
UNet's pooling grid (:func:`padding_multiple`) and overlap by more than the motion give the whole frame's
answer within a few grey levels (tested).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 64


def tile_spans(length: int, tile: int, overlap: int, align: int = 1) -> list[tuple[int, int]]:
    """(start, stop) of tiles covering ``length`` pixels, neighbours sharing at least ``overlap`` pixels.

    Starts are multiples of ``align`` (a UNet's pooling grid must line up with the whole frame's, or
    every tile computes different features); the last tile runs to the end, so it may be up to
    ``align - 1`` pixels longer than ``tile``.

    >>> tile_spans(1000, 512, 64)
    [(0, 512), (244, 756), (488, 1000)]
    >>> tile_spans(1000, 512, 64, align=32)
    [(0, 512), (224, 736), (480, 1000)]
    """
    if length <= tile:
        return [(0, length)]
    if overlap + align >= tile:
        raise ValueError(f"overlap ({overlap}) plus align ({align}) must be smaller than tile ({tile}).")
    count = math.ceil((length - overlap - align) / (tile - overlap - align))
    # Spread the tiles evenly, then move each start back onto the alignment grid.
    starts = [round(i * (length - tile) / (count - 1)) // align * align for i in range(count)]
    return [(start, length if i == count - 1 else start + tile) for i, start in enumerate(starts)]


def _ramp(start: int, stop: int, total: int, overlap: int) -> np.ndarray:
    """1-D blending weight of a tile spanning [start, stop) of ``total``: linear ramps where it meets a neighbour."""
    weight = np.ones(stop - start, np.float32)
    if overlap == 0:
        return weight
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if start > 0:
        weight[:overlap] = np.minimum(weight[:overlap], ramp)
    if stop < total:
        weight[-overlap:] = np.minimum(weight[-overlap:], ramp[::-1])
    return weight


def tiled(predict: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray, tile: int = DEFAULT_TILE,
          overlap: int = DEFAULT_OVERLAP, align: int = 1) -> np.ndarray:
    """Runs ``predict`` on overlapping tiles of ``inputs`` and blends the tiles with linear ramps.

    Args:
        predict: maps an array (h, w, C) to an image (h, w, K) (any h, w up to ``tile + align``).
        inputs: (H, W, C) array, e.g. two frames and their prior flows.
        tile: tile side; frames no larger than this are processed whole.
        overlap: pixels shared by neighbouring tiles (blended linearly across them). Motion larger
            than about half of it can reach outside a tile, so keep it above the largest motion.
        align: tile starts are multiples of this (the UNet's padding multiple, see :func:`utils.models.interpolator.model_method`).

    Returns:
        ``float32`` (H, W, K).
    """
    height, width = inputs.shape[:2]
    if height <= tile and width <= tile:
        return np.asarray(predict(inputs), np.float32)
    output = None
    total_weight = np.zeros((height, width, 1), np.float32)
    for top, bottom in tile_spans(height, tile, overlap, align):
        for left, right in tile_spans(width, tile, overlap, align):
            piece = np.asarray(predict(inputs[top:bottom, left:right]), np.float32)
            if output is None:  # as many channels as the prediction has (3 for a frame, 8 for a flow UNet's fields)
                output = np.zeros((height, width, piece.shape[-1]), np.float32)
            weight = np.outer(_ramp(top, bottom, height, overlap), _ramp(left, right, width, overlap))
            output[top:bottom, left:right] += piece * weight[..., None]
            total_weight[top:bottom, left:right, 0] += weight
    return output / total_weight


def padding_multiple(model) -> int:
    """The multiple a UNet pads its input to (2 ** (depth - 1)); its pooling grid repeats with this period."""
    try:
        return int(model.get_layer("pad").multiple)
    except ValueError:
        return 32
