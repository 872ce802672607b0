"""A whole video (or folder of frames) converted to a new frame rate, written safely: a temporary file beside
the output, renamed when complete, audio muxed back."""

from __future__ import annotations

import bisect
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from utils import paths
from utils.data import clips
from utils.media import image_io, video_io
from utils.models import interpolator
from utils.video import retime


FRAME_NAME = re.compile(r"\d{6}\.png")  # the numbered frames a folder output holds: 000000.png, 000001.png, ...


def check_output(source_path: Path, output: Path, overwrite: bool) -> None:
    """Refuses an output of an unknown kind, the input itself or a folder holding it, an existing one without
    ``overwrite``, a file where a folder is meant, and a folder holding anything but this command's frames.

    Raises:
        InputError: naming the path (and, for a folder, one file that is not this command's).
    """
    kind = video_io.check_output_kind(output)
    if output.resolve() == source_path.resolve():
        raise video_io.InputError(f"Output {output} is the input: choose another path (the input is never overwritten).")
    if kind == "folder" and output.exists() and not output.is_dir():
        raise video_io.InputError(f"Output {output} is a file; frames need a folder: choose a new path or a folder.")
    if output.exists() and not overwrite:
        raise video_io.InputError(f"Output {output} exists: choose another path or pass --overwrite.")
    if kind == "folder" and output.is_dir():
        foreign = sorted(entry.name for entry in output.iterdir() if not FRAME_NAME.fullmatch(entry.name))
        if foreign:
            raise video_io.InputError(f"Output folder {output} holds {foreign[0]!r}, which this command did not write; "
                                      "--overwrite replaces only numbered frames (000000.png, ...): choose an empty "
                                      "or new folder.")


def _replace(temporary: Path, output: Path) -> None:
    """Moves a finished file, or the frames of a finished folder, to ``output``.

    Into an existing folder only numbered frames are moved (:func:`check_output` made sure it holds nothing else);
    its frames past the new ones are removed, so it ends holding exactly the new sequence.
    """
    if not temporary.is_dir():
        os.replace(temporary, output)
        return
    if not output.is_dir():
        os.replace(temporary, output)
        return
    written = {frame.name for frame in temporary.iterdir()}
    for frame in sorted(temporary.iterdir()):
        os.replace(frame, output / frame.name)
    for stale in output.iterdir():
        if FRAME_NAME.fullmatch(stale.name) and stale.name not in written:
            stale.unlink()


@dataclass
class Options:
    """How a video is converted (the video command's options).

    Attributes:
        factor, fps: the output rate: a whole multiple of the input's (default 2), or any rate.
        slowmo: play ``slowmo`` times slower: that many times the frames, shown at the output rate (the sound and
            subtitles, which would no longer match, are left out).
        crf, lossless: the encoder's quality (:class:`utils.media.video_io.VideoWriter`).
        side_by_side: each output frame beside the input frame nearest in time (labelled), to compare.
        scene_threshold: how different two frames' colours must be to count as a cut (``None``: never).
        repeats: interpolate across repeated frames instead of keeping them (animation on twos, screen captures).
    """

    factor: int | None = None
    fps: float | None = None
    slowmo: int = 1
    crf: int | None = None
    lossless: bool = False
    side_by_side: bool = False
    scene_threshold: float | None = clips.SCENE_CUT_THRESHOLD
    repeats: bool = False


def convert_video(source: video_io.Source, output: str | Path, method: interpolator.Method, factor: int | None = None,
                  overwrite: bool = False, progress: bool = True, fps: float | None = None,
                  options: Options | None = None) -> dict:
    """Writes ``source`` at a new frame rate to ``output`` (a video file or a folder of PNG frames).

    Args:
        source: from :func:`utils.media.video_io.open_source`.
        output: a video file whose suffix picks the container (:data:`utils.media.video_io.CONTAINERS`) or a folder (no suffix)
            for PNG frames ``000000.png``, ``000001.png``, ...
        method: ``(frame_a, frame_b) -> middle`` (optionally with ``at_time``, see :func:`utils.models.interpolator.frames_between`).
        factor: a whole multiple of the input rate (2 when neither it nor ``fps`` is given).
        overwrite: replace an existing output.
        progress: show a progress bar (frames per second, time left) on stderr.
        fps: the output frame rate (instead of ``factor``), e.g. 60 for 24 fps footage.
        options: the rest of the command's options (:class:`Options`; ``factor`` and ``fps`` given here win).

    Returns:
        A summary: input and output frame counts, rates and durations, scene cuts, repeated frames, what became of
        the audio and subtitles, how the video was encoded, notes (what changed that the user should know), seconds.

    Raises:
        InputError: an unknown container, output equal to the input, an existing output without
            ``overwrite``, a bad factor or rate.
    """

    options = replace(options or Options(), **{k: v for k, v in (("factor", factor), ("fps", fps)) if v is not None})
    output = Path(output)
    check_output(source.path, output, overwrite)
    fps = output_rate(source, options.factor, options.fps, options.slowmo)
    output.parent.mkdir(parents=True, exist_ok=True)
    kind = video_io.check_output_kind(output)
    video_io.check_crf(kind, options.crf)
    notes = list(source.notes)
    workspace = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".tmp-{output.name}-"))
    start = time.perf_counter()
    try:
        target, counts, cuts, repeated, encoding = _write_frames(source, method, fps, kind, workspace, output,
                                                                 progress, options)
        streams = _add_streams(source, kind, target, workspace, output, options.slowmo)
        target = streams.pop("target")
        _replace(target, output)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    promised = source.promised or source.frame_count
    if source.kind == "video" and counts["read"] < promised - max(2, promised // 20):
        notes.append(f"read {counts['read']} of the {promised} frames the container promised: the file ends early "
                     "(cut short or damaged); the output stops there")
    if options.slowmo > 1:
        notes.append(f"{options.slowmo} times slower: {options.slowmo} times the frames at {fps:g} fps")
    seconds = time.perf_counter() - start
    return {"input": paths.display(source.path), "output": paths.display(output),
            "input_frames": counts["read"], "output_frames": counts["written"], "input_fps": source.fps,
            "output_fps": fps, "input_seconds": round(source.end or counts["read"] / source.fps, 4),
            "output_seconds": round(counts["written"] / fps, 4), "scene_cuts": cuts, "repeated_frames": repeated,
            "audio": streams["audio"], "subtitles": streams["subtitles"], "video": encoding, "notes": notes,
            "seconds": round(seconds, 2)}


def human_summary(summary: dict) -> str:
    """One line for a person (the command prints it on stderr, the JSON on stdout)."""
    rate = summary["output_frames"] / max(summary["seconds"], 1e-9)
    parts = [f"{summary['input']} ({summary['input_frames']} frames, {summary['input_fps']:.4g} fps, "
             f"{summary['input_seconds']:.2f} s) -> {summary['output']} ({summary['output_frames']} frames, "
             f"{summary['output_fps']:.4g} fps, {summary['output_seconds']:.2f} s) in {summary['seconds']:.1f} s "
             f"({rate:.1f} frames/s)", f"video {summary['video']}", f"audio {summary['audio']}"]
    if summary["subtitles"] != "none":
        parts.append(f"subtitles {summary['subtitles']}")
    if summary["scene_cuts"]:
        parts.append(f"{len(summary['scene_cuts'])} scene cut(s) not blended")
    if summary["repeated_frames"]:
        parts.append(f"{len(summary['repeated_frames'])} repeated frame(s) interpolated across")
    return "; ".join(parts + summary["notes"])


def output_rate(source: video_io.Source, factor: int | None, fps: float | None, slowmo: int = 1) -> float:
    """The output frame rate: ``fps``, or ``factor`` (default 2; for slow motion, 1) times the input's.

    Raises:
        InputError: both given, a factor that is not a whole number from 1, or a rate outside (0, 1000].
    """
    if fps is not None and factor is not None:
        raise video_io.InputError("Give either --fps or --factor, not both.")
    if fps is None:
        fps = source.fps * (retime.check_factor(factor or 2) if factor is not None or slowmo == 1 else 1)
    if not 0 < fps <= 1000:
        given = f"--factor {factor} makes {fps:g} fps" if factor is not None else f"got {fps:g}"
        raise video_io.InputError(f"--fps must be a frame rate above 0 and at most 1000: {given}.")
    return fps


def output_count(source: video_io.Source, fps: float) -> int:
    """How many frames the output of ``source`` at ``fps`` has (the progress bar's total)."""
    if source.times is not None:
        return max(1, round(source.end * fps))
    return len(video_io.output_positions(source.frame_count, source.fps, fps))


def _nearest_input(source: video_io.Source, k: int, rate: float) -> int:
    """The index of the input frame shown nearest in time to output frame ``k`` at ``rate`` frames per second."""
    moment = k / rate
    if source.times is None:
        return int(moment * source.fps + 0.5)
    after = bisect.bisect_left(source.times, moment)
    if after == 0:
        return 0
    if after == len(source.times):
        return after - 1
    return after if source.times[after] - moment < moment - source.times[after - 1] else after - 1


def _labelled(frame: np.ndarray, label: str) -> np.ndarray:
    frame = frame.copy()
    scale = max(0.4, frame.shape[0] / 720)
    for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(frame, label, (8, int(24 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, colour,
                    max(1, int(width * scale)), cv2.LINE_AA)
    return frame


def _write_frames(source: video_io.Source, method: interpolator.Method, fps: float, kind: str, workspace: Path,
                  output: Path, progress: bool, options: Options) -> tuple[Path, dict, list[int], list[int], str]:
    """Retimes the source into ``workspace`` (a video file or a folder of PNG frames named like ``output``).

    Returns:
        The written file or folder, the frames read and written, the scene cuts and repeated frames (input frame
        indices), how the video was encoded.
    """
    cuts: list[int] = []
    repeated: list[int] = []
    counts = {"read": 0, "written": 0}
    rate = fps * options.slowmo  # frames per second of input time; shown at fps
    bar = tqdm(total=output_count(source, rate), unit="frame",
               desc=f"{source.fps:.4g} -> {fps:g} fps{' x' + str(options.slowmo) + ' slower' if options.slowmo > 1 else ''} "
                    f"{source.path.name}", disable=not progress, file=sys.stderr)
    target = workspace / (output.name if kind == "folder" else f"video{output.suffix.lower()}")
    size = (source.size[0] * (2 if options.side_by_side else 1), source.size[1])
    writer = (None if kind == "folder" else
              video_io.VideoWriter(target, size, fps, crf=options.crf, lossless=options.lossless))
    if writer is None:
        target.mkdir()
    def counted(frames):
        for frame in frames:
            counts["read"] += 1
            yield frame

    consumed: dict[int, np.ndarray] = {}  # the input frames the retiming read last, for the side-by-side panel

    def remembered(frames):
        for index, frame in enumerate(frames):
            consumed[index] = frame
            consumed.pop(index - 4, None)
            yield frame

    def beside(frames):  # runs in the retiming's thread, so `consumed` is at the output's time
        for k, frame in enumerate(frames):
            nearest = consumed.get(_nearest_input(source, k, rate))
            if nearest is None:  # the last frames, held past the end of the input
                nearest = consumed[max(consumed)]
            yield np.concatenate([_labelled(nearest, "input"), _labelled(frame, method.name)], axis=1)

    try:
        # Three stages at once: ffmpeg decodes ahead, the method computes, this thread hands frames to the encoder.
        decoded = video_io.prefetch(counted(video_io.read_source(source)), depth=8)
        if options.side_by_side:
            decoded = remembered(decoded)
        retimed = retime.retime_frames(method, decoded, source.fps, rate, on_cut=cuts.append, times=source.times,
                                       end=source.end, scene_threshold=options.scene_threshold,
                                       repeats=options.repeats, on_repeat=repeated.append)
        for frame in video_io.prefetch(beside(retimed) if options.side_by_side else retimed, depth=8):
            if writer is None:
                image_io.write_image(target / f"{counts['written']:06d}.png", frame)
            else:
                writer.write(frame)
            counts["written"] += 1
            bar.update(1)
        if counts["read"] < 2:
            raise video_io.InputError(f"{source.path} has {counts['read']} frame(s); interpolation needs at least two.")
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()
    encoding = writer.description if writer is not None else f"PNG frames, {size[0]}x{size[1]}"
    return target, counts, cuts, repeated, encoding


def _add_streams(source: video_io.Source, kind: str, target: Path, workspace: Path, output: Path,
                 slowmo: int) -> dict:
    """Muxes the source's audio and subtitles into the written video where its container holds them; says what
    became of each (``target``: the file to move to the output)."""
    holds = video_io.CONTAINERS.get(kind, {}).get("audio")
    where = "a folder of frames" if kind == "folder" else kind
    if slowmo > 1 and (source.has_audio or source.subtitles):
        gone = f"dropped (--slowmo {slowmo} makes the video {slowmo} times longer)"
        return {"target": target, "audio": gone if source.has_audio else "none",
                "subtitles": gone if source.subtitles else "none"}
    if holds and (source.has_audio or source.subtitles):
        muxed = workspace / f"muxed{output.suffix.lower()}"
        kept = video_io.mux_streams(target, source.path, muxed, source.audio_codec, source.has_audio, source.subtitles)
        return {"target": muxed, **kept}
    return {"target": target, "audio": f"dropped ({where} holds no sound)" if source.has_audio else "none",
            "subtitles": f"dropped ({where} holds none)" if source.subtitles else "none"}


def write_pair_outputs(frames: dict[float, np.ndarray], output: Path, overwrite: bool) -> list[Path]:
    """Writes one frame to ``output`` (an image file), or several to ``output/frame_t0.250.png``."""
    if len(frames) == 1 and output.suffix:
        if output.exists() and not overwrite:
            raise video_io.InputError(f"Output {output} exists: choose another path or pass --overwrite.")
        if output.suffix.lower() not in video_io.IMAGE_SUFFIXES:
            raise video_io.InputError(f"Output {output}: expected an image suffix ({', '.join(sorted(video_io.IMAGE_SUFFIXES))}).")
        return [image_io.write_image(output, next(iter(frames.values())))]
    if output.suffix:
        raise video_io.InputError(f"Output {output}: with several --times, -o must be a folder (a path without a suffix).")
    written = []
    decimals = next(d for d in range(3, 12) if len({f"{t:.{d}f}" for t in frames}) == len(frames))
    for t, frame in frames.items():
        target = output / f"frame_t{t:.{decimals}f}.png"
        if target.exists() and not overwrite:
            raise video_io.InputError(f"Output {target} exists: choose another folder or pass --overwrite.")
        written.append(image_io.write_image(target, frame))
    return written
