"""A whole video (or folder of frames) converted to a new frame rate, written safely: a temporary file beside
the output, renamed when complete, audio muxed back."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from utils import paths
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


def convert_video(source: video_io.Source, output: str | Path, method: interpolator.Method, factor: int | None = None,
                  overwrite: bool = False, progress: bool = True, fps: float | None = None) -> dict:
    """Writes ``source`` at a new frame rate to ``output`` (a video file or a folder of PNG frames).

    Args:
        source: from :func:`utils.media.video_io.open_source`.
        output: a video file whose suffix picks the container (:data:`utils.media.video_io.CONTAINERS`) or a folder (no suffix)
            for PNG frames ``000000.png``, ``000001.png``, ...
        method: ``(frame_a, frame_b) -> middle`` (optionally with ``at_time``, see :func:`utils.models.interpolator.frames_between`).
        factor: a whole multiple of the input rate (2 when neither it nor ``fps`` is given).
        overwrite: replace an existing output.
        progress: show a progress bar (frames per second) on stderr.
        fps: the output frame rate (instead of ``factor``), e.g. 60 for 24 fps footage.

    Returns:
        A summary: input and output frame counts, rates and durations, scene cuts, what became of the audio,
        seconds.

    Raises:
        InputError: an unknown container, output equal to the input, an existing output without
            ``overwrite``, a bad factor or rate.
    """

    output = Path(output)
    check_output(source.path, output, overwrite)
    fps = output_rate(source, factor, fps)
    output.parent.mkdir(parents=True, exist_ok=True)
    kind = video_io.check_output_kind(output)
    workspace = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".tmp-{output.name}-"))
    start = time.perf_counter()
    try:
        target, frames_read, written, cuts = _write_frames(source, method, fps, kind, workspace, output, progress)
        target, audio = _add_audio(source, kind, target, workspace, output)
        _replace(target, output)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    return {"input": paths.display(source.path), "output": paths.display(output),
            "input_frames": frames_read, "output_frames": written, "input_fps": source.fps, "output_fps": fps,
            "input_seconds": round(frames_read / source.fps, 4), "output_seconds": round(written / fps, 4),
            "scene_cuts": cuts, "audio": audio, "seconds": round(time.perf_counter() - start, 2)}


def output_rate(source: video_io.Source, factor: int | None, fps: float | None) -> float:
    """The output frame rate: ``fps``, or ``factor`` (default 2) times the input's.

    Raises:
        InputError: both given, a factor that is not a whole number from 1, or a rate outside (0, 1000].
    """
    if fps is not None and factor is not None:
        raise video_io.InputError("Give either --fps or --factor, not both.")
    if fps is None:
        fps = source.fps * retime.check_factor(factor or 2)
    if not 0 < fps <= 1000:
        given = f"--factor {factor} makes {fps:g} fps" if factor is not None else f"got {fps:g}"
        raise video_io.InputError(f"--fps must be a frame rate above 0 and at most 1000: {given}.")
    return fps


def _write_frames(source: video_io.Source, method: interpolator.Method, fps: float, kind: str, workspace: Path,
                  output: Path, progress: bool) -> tuple[Path, int, int, list[int]]:
    """Retimes the source into ``workspace`` (a video file or a folder of PNG frames named like ``output``).

    Returns:
        The written file or folder, the frames read and written, the scene cuts (input frame indices).
    """
    cuts: list[int] = []
    counts = {"read": 0, "written": 0}
    bar = tqdm(total=len(video_io.output_positions(source.frame_count, source.fps, fps)), unit="frame",
               desc=f"{source.fps:g} -> {fps:g} fps {source.path.name}", disable=not progress, file=sys.stderr)
    target = workspace / (output.name if kind == "folder" else f"video{output.suffix.lower()}")
    writer = None if kind == "folder" else video_io.VideoWriter(target, source.size, fps)
    if writer is None:
        target.mkdir()

    def counted(frames):
        for frame in frames:
            counts["read"] += 1
            yield frame

    try:
        for frame in retime.retime_frames(method, counted(video_io.read_source(source)), source.fps, fps,
                                          on_cut=cuts.append):
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
    return target, counts["read"], counts["written"], cuts


def _add_audio(source: video_io.Source, kind: str, target: Path, workspace: Path, output: Path) -> tuple[Path, str]:
    """Muxes the source's audio into the written video where its container holds sound; says what became of it."""
    if source.has_audio and video_io.CONTAINERS.get(kind, {}).get("audio"):
        muxed = workspace / f"muxed{output.suffix.lower()}"
        return muxed, video_io.mux_audio(target, source.path, muxed, source.audio_codec)
    if source.has_audio:
        return target, f"dropped ({'a folder of frames' if kind == 'folder' else kind} holds no sound)"
    return target, "none"


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
