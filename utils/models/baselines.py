"""Classical interpolation baselines that every network must beat.

- :func:`frame_average`: 50/50 blend; exact for static scenes, ghosts where things move.
- :func:`dis_interpolate`: OpenCV's DIS optical flow (medium preset) in both directions; both frames
  backward-warped to the midpoint and averaged.
- :func:`minterpolate`: ffmpeg's motion-compensated interpolation filter (``mi_mode=mci``), run
  through the ffmpeg binary that imageio-ffmpeg ships.

Every method maps two ``uint8`` RGB frames (H, W, 3) to the middle frame as ``float32`` in [0, 1].
"""

from __future__ import annotations

import subprocess

import numpy as np

from utils import flow
from utils.media import image_io, video_io


def frame_average(frame1: np.ndarray, frame3: np.ndarray, t: float = 0.5) -> np.ndarray:
    """Blends the two frames (50/50 at the midpoint): exact for static scenes, ghosts where things move.

    Args:
        frame1: ``uint8`` (H, W, 3).
        frame3: ``uint8`` (H, W, 3), same shape.
        t: time of the wanted frame, 0 (frame 1) to 1 (frame 3): the weights are ``1 - t`` and ``t``.

    Returns:
        ``float32`` (H, W, 3) in [0, 1].
    """
    if frame1.shape != frame3.shape:
        raise ValueError(f"frame_average needs frames of one size, got {frame1.shape} and {frame3.shape}.")
    if t == 0.5:
        return 0.5 * (image_io.to_float(frame1) + image_io.to_float(frame3))
    return (1.0 - t) * image_io.to_float(frame1) + t * image_io.to_float(frame3)


def dis_interpolate(frame1: np.ndarray, frame3: np.ndarray, t: float = 0.5) -> np.ndarray:
    """The frame at time ``t`` from DIS optical flow: both frames warped to ``t`` and blended.

    Args:
        frame1, frame3: ``uint8`` RGB frames (H, W, 3) of one size.
        t: time of the wanted frame (0.5: the middle); the warped frames are weighted ``1 - t`` and ``t``.

    Returns:
        ``float32`` (H, W, 3) in [0, 1].
    """
    return dis_at_times(frame1, frame3, [t])[0]


def dis_at_times(frame1: np.ndarray, frame3: np.ndarray, times) -> list[np.ndarray]:
    """:func:`dis_interpolate` at several ``times`` of one pair, DIS's two flows computed once for all of them."""
    flow.check_pair(frame1, frame3, "dis_interpolate")
    both = flow.dis_flows(frame1, frame3)
    first, third = image_io.to_float(frame1), image_io.to_float(frame3)
    frames = []
    for t in times:
        flows = flow.intermediate_flows(both[..., :2], both[..., 2:], t)
        warped_1 = flow.warp_frame(first, flows[..., :2])
        warped_3 = flow.warp_frame(third, flows[..., 2:])
        blended = 0.5 * (warped_1 + warped_3) if t == 0.5 else (1.0 - t) * warped_1 + t * warped_3
        frames.append(np.clip(blended, 0.0, 1.0))
    return frames


def minterpolate_filter(fps: str | float) -> str:
    """The ffmpeg filter chain of the baseline at output rate ``fps``: motion-compensated (``mi_mode=mci``),
    overlapped blocks, bidirectional search, YUV 4:4:4 (no chroma subsampling), no scene-cut detection."""
    return f"format=yuv444p,minterpolate=fps={fps}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:scd=none,format=rgb24"


def minterpolate(frame1: np.ndarray, frame3: np.ndarray) -> np.ndarray:
    """Middle frame from ffmpeg's ``minterpolate`` filter (motion-compensated, ``mi_mode=mci``).

    The two frames go through :func:`minterpolate_video` at twice the rate; the frame at t = 0.5 is
    the answer. Colours go through YUV 4:4:4 (no chroma subsampling) and ffmpeg's own
    scene-cut detection is off (``scd=none``), so this is the filter at its best on a single pair.

    Args:
        frame1, frame3: ``uint8`` RGB frames (H, W, 3) of one size.

    Returns:
        ``float32`` (H, W, 3) in [0, 1].

    Raises:
        RuntimeError: if ffmpeg fails (its message is included).
    """
    flow.check_pair(frame1, frame3, "minterpolate")
    return image_io.to_float(minterpolate_video([frame1, frame3], 2)[1])


def minterpolate_video(frames: list[np.ndarray], factor: int = 2, source_fps: float | None = None,
                       target_fps: float | None = None) -> list[np.ndarray]:
    """A whole sequence at a new frame rate through ffmpeg's ``minterpolate``, as a user would run it.

    Unlike :func:`minterpolate` (one pair at a time) the filter sees the whole sequence, so its motion
    search can use the frames before and after each pair. With ``factor``, output frame ``factor * k``
    is input frame ``k``; with ``source_fps`` and ``target_fps`` (e.g. 24 -> 60) output frame ``k`` shows
    time ``k / target_fps``. Either way the frames past the last input frame hold it, so as many frames
    come back as :func:`utils.video.retime.retime_frames` gives.

    Returns:
        ``uint8`` frames.

    Raises:
        RuntimeError: if ffmpeg fails.
    """

    if len(frames) < 2:
        raise ValueError(f"minterpolate_video needs at least two frames, got {len(frames)}.")
    flow.check_pair(frames[0], frames[-1], "minterpolate_video")
    if target_fps is None:
        source_fps, target_fps = 1.0, float(factor)
    source_fps = source_fps or 1.0
    wanted = len(video_io.output_positions(len(frames), source_fps, target_fps))
    height, width = frames[0].shape[:2]
    raw = b"".join(np.ascontiguousarray(f).tobytes() for f in [*frames, frames[-1]])
    command = [video_io.ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{width}x{height}", "-r", video_io.rate_text(source_fps), "-i", "-",
               "-vf", minterpolate_filter(video_io.rate_text(target_fps)), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    result = subprocess.run(command, input=raw, capture_output=True, check=False)
    frame_bytes = width * height * 3
    available = len(result.stdout) // frame_bytes
    if result.returncode != 0 or available < 2:
        raise RuntimeError(f"ffmpeg minterpolate failed on {len(frames)} frames of {width}x{height}: "
                           f"{result.stderr.decode(errors='replace').strip() or 'too few frames came back'}")
    # the filter stops at the last input frame's time; later output times hold the last frame
    last_time = (len(frames) - 1) / source_fps
    usable = min(available, int(np.floor(last_time * target_fps + 1e-9)) + 1, wanted)
    output = [np.frombuffer(result.stdout[i * frame_bytes:(i + 1) * frame_bytes], np.uint8).reshape(height, width, 3)
              for i in range(usable)]
    return output + [frames[-1]] * (wanted - usable)
