"""Times between two frames and whole sequences retimed: frames at any t between two frames
(:func:`frames_between`), a sequence at N times its rate (:func:`upsample_frames`) or at any rate
(:func:`retime_frames`), scene cuts left unblended, and dropped frames rebuilt and scored
(:func:`drop_and_rebuild`)."""

from __future__ import annotations

import fractions
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from utils.data import clips
from utils.evaluation import scoring
from utils.media import image_io, video_io
from utils.models import interpolator


def is_scene_cut(frame_a: np.ndarray, frame_b: np.ndarray) -> bool:
    """True when two consecutive frames come from different shots (hue/saturation histograms differ)."""

    return clips.scene_cut_score(frame_a, frame_b) > clips.SCENE_CUT_THRESHOLD


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


def retime_frames(method: interpolator.Method, frames: Iterator[np.ndarray], source_fps: float, target_fps: float,
                  input_frames: int | None = None, on_cut: Callable[[int], None] | None = None
                  ) -> Iterator[np.ndarray]:
    """Yields the frames of ``frames`` (at ``source_fps``) resampled to ``target_fps``.

    Output frame k shows time ``k / target_fps``: at input position ``s = k * source_fps / target_fps``
    it is input frame ``s`` when ``s`` is whole, else the frame at fraction ``t = s - floor(s)`` between
    the two input frames around it (:func:`frames_between`). Lowering the rate picks the nearest frame.
    Across a scene cut nothing is blended: the nearer frame is repeated. The output has
    ``round(N * target / source)`` frames for N input frames (positions past the last frame hold it).

    Args:
        method: ``(frame_a, frame_b) -> middle``, optionally with ``at_time`` (see :func:`frames_between`).
        frames: ``uint8`` RGB frames of one size.
        source_fps, target_fps: the input's and the output's frame rates.
        input_frames: the number of input frames if known (else counted while reading; the tail is the same).
        on_cut: called with the index of the earlier frame at each detected cut between interpolated frames.
    """
    ratio = fractions.Fraction(video_io.rate_text(source_fps)) / fractions.Fraction(video_io.rate_text(target_fps))
    lower = ratio > 1
    k = 0
    previous = None
    index = -1
    for index, frame in enumerate(frames):
        if previous is not None:
            if frame.shape != previous.shape:
                raise video_io.InputError(f"frame {index} is {frame.shape[1]}x{frame.shape[0]}, frame {index - 1} "
                                 f"{previous.shape[1]}x{previous.shape[0]}: every frame must have one size.")
            pending = []  # output frames whose position lies in [index - 1, index), as fractions past index - 1
            while k * ratio < index:
                pending.append(k * ratio - (index - 1))
                k += 1
            wanted = [float(t) for t in pending if t != 0 and not lower]
            cut = bool(wanted) and is_scene_cut(previous, frame)
            if cut and on_cut is not None:
                on_cut(index - 1)
            between = interpolator.frames_between(method, previous, frame, wanted) if wanted and not cut else {}
            for t in pending:
                if t == 0:
                    yield previous
                elif lower or cut:
                    yield previous if t < 0.5 else frame
                else:
                    yield between[float(t)]
        previous = frame
    if previous is None:
        return
    total = max(1, round((index + 1) / ratio))
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
