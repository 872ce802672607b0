"""Classical optical flow: OpenCV's DIS, and the intermediate flows it gives at time t.

The DIS prior is what the flow-guided UNet starts from; the data pipeline, the corpus sampler, the
model's input and the DIS baseline all compute it here. This module imports nothing of :mod:`utils`,
so every other module may import it.
"""

from __future__ import annotations

import concurrent.futures
import functools

import cv2
import numpy as np


MIN_SIDE = 12  # DIS refuses smaller frames (OpenCV: "Incorrect size of input")


def check_pair(frame1: np.ndarray, frame3: np.ndarray, name: str) -> None:
    """Raises ``ValueError`` unless both frames are ``uint8`` RGB arrays of one size, at least :data:`MIN_SIDE`
    pixels on each side."""
    if frame1.shape != frame3.shape:
        raise ValueError(f"{name} needs frames of one size, got {frame1.shape} and {frame3.shape}.")
    if frame1.ndim != 3 or frame1.shape[-1] != 3 or frame1.dtype != np.uint8:
        raise ValueError(f"{name} needs uint8 RGB frames (H, W, 3), got {frame1.dtype} {frame1.shape}.")
    check_size(frame1.shape[1], frame1.shape[0], name)


def check_size(width: int, height: int, name: str) -> None:
    """Raises ``ValueError`` for frames smaller than :data:`MIN_SIDE` on a side (optical flow needs room)."""
    if min(width, height) < MIN_SIDE:
        raise ValueError(f"{name}: frames of {width}x{height} are too small; optical flow needs at least "
                         f"{MIN_SIDE} pixels on each side.")


def dis_flow(frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
    """Dense optical flow from ``frame_a`` to ``frame_b`` with OpenCV DIS (medium preset).

    Args:
        frame_a, frame_b: ``uint8`` RGB frames of one size.

    Returns:
        ``float32`` (H, W, 2): pixel (x, y) of ``frame_a`` is at (x + u, y + v) in ``frame_b``.
    """
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gray_a = cv2.cvtColor(frame_a, cv2.COLOR_RGB2GRAY)
    gray_b = cv2.cvtColor(frame_b, cv2.COLOR_RGB2GRAY)
    return flow.calc(gray_a, gray_b, None)


def intermediate_flows(flow_13: np.ndarray, flow_31: np.ndarray, t: float = 0.5) -> np.ndarray:
    """Flows from the frame at time ``t`` back to frame 1 and to frame 3 (Super SloMo's approximation).

    ``F_t->1 = -(1 - t) t F_1->3 + t^2 F_3->1`` and ``F_t->3 = (1 - t)^2 F_1->3 - t (1 - t) F_3->1``:
    for motion that is locally constant, both are the exact flows that backward warping needs.

    Args:
        flow_13: flow from frame 1 to frame 3 (H, W, 2).
        flow_31: flow from frame 3 to frame 1 (H, W, 2).
        t: time of the wanted frame, 0 (frame 1) to 1 (frame 3).

    Returns:
        ``float32`` (H, W, 4): ``F_t->1`` in channels 0-1, ``F_t->3`` in channels 2-3.
    """
    to_1 = -(1.0 - t) * t * flow_13 + t * t * flow_31
    to_3 = (1.0 - t) ** 2 * flow_13 - t * (1.0 - t) * flow_31
    return np.concatenate([to_1, to_3], axis=-1).astype(np.float32)


def dis_flows(frame1: np.ndarray, frame3: np.ndarray, parallel: bool = False) -> np.ndarray:
    """DIS flows in both directions, ``F_1->3`` in channels 0-1 and ``F_3->1`` in 2-3 (H, W, 4): the
    time-conditioned network's input, which turns them into the intermediate flows at any t itself.
    ``parallel``: both directions at once in two threads (the same flows; at 640x360 here 32 ms against 43; not
    where the caller already runs several at once, as training's input pipeline does)."""
    check_pair(frame1, frame3, "dis_flows")
    if parallel:
        backward = _pool().submit(dis_flow, frame3, frame1)
        return np.concatenate([dis_flow(frame1, frame3), backward.result()], axis=-1)
    return np.concatenate([dis_flow(frame1, frame3), dis_flow(frame3, frame1)], axis=-1)


@functools.cache
def _pool() -> concurrent.futures.ThreadPoolExecutor:
    """One worker thread for :func:`dis_flows`'s second direction (OpenCV releases the GIL)."""
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="dis")


def time_channels(flows: np.ndarray, t: float) -> np.ndarray:
    """``flows`` of :func:`dis_flows` (H, W, 4) followed by a plane of ``t``: the time model's flow channels."""
    return np.concatenate([flows, np.full(flows.shape[:2] + (1,), t, np.float32)], axis=-1)


def warp_frame(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Samples ``image`` at (x + u, y + v) with bilinear interpolation (edges repeated).

    Args:
        image: (H, W, C) array.
        flow: ``float32`` (H, W, 2).

    Returns:
        The warped image, same dtype and shape as ``image``.
    """
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


TEACHER_TOLERANCE = 0.05  # a teacher flow is trusted where it warps its frame onto the truth within this (mean |error|)


TEACHER_MARGIN = 0.02  # ... and where it does so by this much better than the prior (about 5 grey levels)


def teacher_flows(frames: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Training targets for the flows at the middle frame, from the middle frame itself (IFRNet's idea of a
    flow teacher, with DIS as the teacher): ``F_t->1`` and ``F_t->3`` by DIS from the true frame at t, each half
    the motion that the prior's intermediate flows reach only through ``F_1->3``; then where each is worth
    learning: 1 where it warps its frame onto the truth (within :data:`TEACHER_TOLERANCE`) and the prior's flow
    does not (worse by :data:`TEACHER_MARGIN`), else 0. Elsewhere the two agree where it matters, or the pixel
    is hidden in that frame, or it is flat and any flow fits (where DIS's flows are noise not worth copying).

    Args:
        frames: (3, H, W, 3) ``uint8``: frame 1, the true frame at t, frame 3.
        prior: (H, W, 4) the prior's ``F_t->1`` and ``F_t->3`` (:func:`intermediate_flows`).

    Returns:
        ``float32`` (H, W, 6): ``F_t->1``, ``F_t->3``, the weight of each.
    """
    truth = frames[1].astype(np.float32) / 255.0
    flows, weights = [], []
    for end, prior_flow in ((frames[0], prior[..., 0:2]), (frames[2], prior[..., 2:4])):
        teacher = dis_flow(frames[1], end)
        end = end.astype(np.float32) / 255.0
        taught, guessed = (np.abs(warp_frame(end, f) - truth).mean(-1, keepdims=True) for f in (teacher, prior_flow))
        flows.append(teacher)
        weights.append(((taught < TEACHER_TOLERANCE) & (guessed > taught + TEACHER_MARGIN)).astype(np.float32))
    return np.concatenate(flows + weights, axis=-1)


def flow_prior(frame1: np.ndarray, frame3: np.ndarray, t: float = 0.5) -> np.ndarray:
    """DIS flows in both directions turned into the two intermediate flows (H, W, 4) at time ``t``."""
    flows = dis_flows(frame1, frame3)
    return intermediate_flows(flows[..., :2], flows[..., 2:], t)
