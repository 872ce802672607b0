"""Times between two frames and whole sequences retimed: frames at any t between two frames
(:func:`frames_between`), a sequence at N times its rate (:func:`upsample_frames`) or at any rate
(:func:`retime_frames`), scene cuts left unblended, and dropped frames rebuilt and scored
(:func:`drop_and_rebuild`)."""

from __future__ import annotations

import fractions
from collections.abc import Callable, Iterator, Sequence

import cv2
import numpy as np

from utils.data import clips
from utils.evaluation import scoring
from utils.media import image_io, video_io
from utils.models import interpolator


def is_scene_cut(frame_a: np.ndarray, frame_b: np.ndarray, threshold: float | None = clips.SCENE_CUT_THRESHOLD) -> bool:
    """True when two consecutive frames come from different shots: their hue/saturation histograms differ by more
    than ``threshold`` (Bhattacharyya distance, 0 same to 1 disjoint; ``None``: never a cut)."""
    return threshold is not None and clips.scene_cut_score(frame_a, frame_b) > threshold


REPEAT_THRESHOLD = 2.0  # grey levels (0-255): the largest mean absolute difference of any 8x8 block of a repeat

MAX_REPEATS = 3  # a frame held for up to 4 frames is animation (on ones to fours); a longer hold is a still


def is_repeat(frame_a: np.ndarray, frame_b: np.ndarray) -> bool:
    """True when ``frame_b`` repeats ``frame_a`` (animation on twos, a screen recording that did not change): no
    8x8 block differs by more than :data:`REPEAT_THRESHOLD` grey levels on average, which a compression's noise
    stays under and any moving object, however small, exceeds."""
    # OpenCV's absolute difference and its area resize by exactly 8 (the blocks' means): 4 ms at 1280x720, numpy 32
    difference = cv2.absdiff(frame_a, frame_b)
    height, width = difference.shape[0] // 8 * 8, difference.shape[1] // 8 * 8
    if height == 0 or width == 0:
        return float(difference.mean(axis=-1).max()) <= REPEAT_THRESHOLD
    blocks = cv2.resize(difference[:height, :width].astype(np.float32), (width // 8, height // 8),
                        interpolation=cv2.INTER_AREA).reshape(height // 8, width // 8, -1)
    return float(blocks.mean(axis=-1).max()) <= REPEAT_THRESHOLD


def upsample_frames(method: interpolator.Method, frames: Iterator[np.ndarray], factor: int,
                    on_cut: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
    """``factor`` frames per input frame (any integer factor of at least 2): :func:`retime_frames` at ``factor`` x.

    Each input frame is followed by ``factor - 1`` new ones; the last frame is repeated ``factor - 1`` times,
    so N frames become N x factor (the same duration at ``factor`` times the rate).
    """
    check_factor(factor)
    return retime_frames(method, frames, 1.0, float(factor), on_cut=on_cut)


def check_factor(factor: int) -> int:
    """Raises :class:`InputError` unless ``factor`` is a whole number of at least 2."""
    if int(factor) != factor or factor < 2:
        raise video_io.InputError(f"--factor must be a whole number of at least 2, got {factor}.")
    return int(factor)


def _fraction(seconds: float) -> fractions.Fraction:
    return fractions.Fraction(seconds).limit_denominator(10**7)


def retime_frames(method: interpolator.Method, frames: Iterator[np.ndarray], source_fps: float, target_fps: float,
                  input_frames: int | None = None, on_cut: Callable[[int], None] | None = None,
                  times: Sequence[float] | None = None, end: float | None = None,
                  scene_threshold: float | None = clips.SCENE_CUT_THRESHOLD, repeats: bool = False,
                  on_repeat: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
    """Yields the frames of ``frames`` (at ``source_fps``) resampled to ``target_fps``.

    Output frame k shows time ``k / target_fps``. Input frame i is shown from ``times[i]`` (a variable-rate
    video's presentation times, seconds from the first frame) or, without ``times``, from ``i / source_fps``. An
    output time that falls on an input frame is that frame; between frames i and i + 1 it is the frame at the
    fraction t of the way between their times (:func:`frames_between`). Lowering the rate picks the nearest
    frame. Across a scene cut nothing is blended: the nearer frame is repeated. The output lasts as long as the
    input (``end``, the time the last frame ends, or N / ``source_fps``): ``round(duration * target_fps)`` frames,
    the last input frame held past its time.

    Args:
        method: ``(frame_a, frame_b) -> middle``, optionally with ``at_time`` (see :func:`frames_between`).
        frames: ``uint8`` RGB frames of one size.
        source_fps, target_fps: the input's (average) and the output's frame rates.
        input_frames: the number of input frames if known (else counted while reading; the tail is the same).
        on_cut: called with the index of the earlier frame at each detected cut between interpolated frames.
        times, end: a variable-rate input's frame times and end (seconds), else ``None``.
        scene_threshold: how different two frames' colours must be to count as a cut (:func:`is_scene_cut`;
            ``None``: never).
        repeats: treat a frame that repeats the one before (:func:`is_repeat`) as not there, so the frames
            around a held stretch are interpolated across it instead of freezing and then jumping; up to
            :data:`MAX_REPEATS` in a row (a longer hold is a still, and stays one).
        on_repeat: called with the index of each repeated frame skipped.
    """
    source_rate = fractions.Fraction(video_io.rate_text(source_fps))
    target_rate = fractions.Fraction(video_io.rate_text(target_fps))
    lower = target_rate < source_rate
    k = 0
    previous = previous_time = previous_index = None
    index = -1
    held = 0  # repeats skipped in a row
    for index, frame in enumerate(frames):
        now = fractions.Fraction(index) / source_rate if times is None else _fraction(times[index])
        if previous is not None:
            if frame.shape != previous.shape:
                raise video_io.InputError(f"frame {index} is {frame.shape[1]}x{frame.shape[0]}, frame {index - 1} "
                                 f"{previous.shape[1]}x{previous.shape[0]}: every frame must have one size.")
            if now <= previous_time:
                continue  # a frame shown no later than the one before it (a broken timestamp): skip it
            still = repeats and is_repeat(previous, frame)
            if still and held < MAX_REPEATS:
                held += 1
                if on_repeat is not None:
                    on_repeat(index)
                continue  # the earlier frame stays the start of the next interval
            held = 0 if not still else held
            pending = []  # output frames whose time lies in [previous_time, now), as fractions of that interval
            span = now - previous_time
            while k / target_rate < now:
                pending.append((k / target_rate - previous_time) / span)
                k += 1
            wanted = [float(t) for t in pending if t != 0 and not lower and not still]
            cut = bool(wanted) and is_scene_cut(previous, frame, scene_threshold)
            if cut and on_cut is not None:
                on_cut(previous_index)
            between = interpolator.frames_between(method, previous, frame, wanted) if wanted and not cut else {}
            for t in pending:
                if t == 0:
                    yield previous
                elif lower or cut or still:
                    yield previous if t < 0.5 else frame
                else:
                    yield between[float(t)]
        previous, previous_time, previous_index = frame, now, index
    if previous is None:
        return
    finish = fractions.Fraction(index + 1) / source_rate if times is None else _fraction(end or times[-1])
    total = max(1, round(finish * target_rate))
    while k < total:  # at or past the last input frame: hold it
        yield previous
        k += 1


def drop_and_rebuild(frames: Sequence[np.ndarray],
                     upsamplers: dict[str, Callable[[list[np.ndarray]], list[np.ndarray]]]) -> dict:
    """Drops every other frame, rebuilds the sequence at twice the rate with each upsampler, scores the rebuilt frames.

    This is the test a frame-rate converter must pass on real footage: the dropped frames are the truth.

    Args:
        frames: ``uint8`` frames of a real clip at its native rate.
        upsamplers: name -> function mapping the kept frames (every other one) to twice as many
            frames (e.g. ``lambda kept: list(upsample_frames(method, iter(kept), 2))`` or
            ``lambda kept: baselines.minterpolate_video(kept, 2)``).

    Returns:
        ``{"frames": indices of the rebuilt frames in ``frames``, "methods": {name: {"psnr": [...],
        "ssim": [...], "rebuilt": [frames]}}}``.
    """

    kept = list(frames[::2])
    if len(kept) < 2:
        raise ValueError(f"drop_and_rebuild needs at least 3 frames, got {len(frames)}.")
    dropped = list(range(1, 2 * len(kept) - 1, 2))
    result: dict = {"frames": dropped, "methods": {}}
    for name, upsample in upsamplers.items():
        rebuilt = upsample(kept)
        if len(rebuilt) != 2 * len(kept):
            raise ValueError(f"{name} returned {len(rebuilt)} frames for {len(kept)}: expected {2 * len(kept)}.")
        scores = [scoring.frame_metrics(image_io.to_float(frames[i]), image_io.to_float(rebuilt[i])) for i in dropped]
        result["methods"][name] = {"psnr": [s["psnr"] for s in scores], "ssim": [s["ssim"] for s in scores],
                                   "rebuilt": [rebuilt[i] for i in dropped]}
    return result


def scores_table(scores: dict[str, dict[str, dict[str, Sequence[float]]]]) -> str:
    """Markdown table of mean PSNR / SSIM (:func:`utils.evaluation.scoring.results_table`): a row per method, a column per clip.

    Args:
        scores: clip -> method -> {"psnr": [...], "ssim": [...]} (per rebuilt frame); the last column
            is the mean over every rebuilt frame.
    """

    methods = {}
    for method in next(iter(scores.values())):
        per_clip = {clip: scores[clip][method] for clip in scores}
        methods[method] = {key: float(np.mean([v for values in per_clip.values() for v in values[key]]))
                           for key in ("psnr", "ssim")}
        methods[method]["groups"] = {clip: {key: float(np.mean(values[key])) for key in ("psnr", "ssim")}
                                     for clip, values in per_clip.items()}
    return scoring.results_table({"methods": methods})
