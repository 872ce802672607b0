"""Interpolate your own frames and videos with a trained model.

    python -m utils.interpolate pair frame_a.png frame_b.png -o middle.png
    python -m utils.interpolate pair frame_a.png frame_b.png -o frames/ --times 0.3 0.7
    python -m utils.interpolate video input.mp4 -o output.mp4 --fps 60
    python -m utils.interpolate video input.mov -o output.webm --factor 3
    python -m utils.interpolate video frames_in/ -o frames_out/ --factor 2 --input-fps 12

What ``video`` guarantees:

- Any target rate (``--fps``) or any integer multiple (``--factor``): output frame k shows time
  k / fps, taken from the input frames around it at the exact fraction t between them (a frame that
  falls on an input frame is that frame; lowering the rate picks the nearest frames). The duration is
  unchanged within one output frame.
- Containers by suffix: ``.mp4``, ``.mkv``, ``.mov`` (H.264), ``.webm`` (VP9 + Opus), ``.gif`` (one
  palette for the clip), or a folder (no suffix) of numbered PNG frames; any other suffix is refused
  before any work. The frame size is kept exactly, odd sizes included.
- The audio stream is copied unchanged (re-encoded only when the container cannot hold its codec:
  AAC for .mp4/.mov, Opus for .webm; a GIF or a folder has none).
- Scene cuts are not blended: between two frames of different shots the nearer frame is repeated.
- Frames of any size: frames larger than ``--tile`` are processed in overlapping tiles, so memory
  stays bounded (a 3840x2160 frame needs no more memory for the network than a 1024x1024 one).
- Nothing half-written at OUTPUT: the result is written to a temporary file beside it and renamed
  when complete; an existing OUTPUT is refused unless ``--overwrite``.

Times: DIS, averaging and the time-conditioned flow UNet (the default model,
``results/models/flow_time_corpus.keras``, trained on the real-footage corpus) compute any t directly. A
network trained for the midpoint (``--checkpoint results/models/flow_corpus.keras`` or the models that
notebook 4 trains) reaches other times by recursive midpoints (1/4 is the midpoint of frame A and the 1/2
frame), to the nearest multiple of 1/64 (at 24 fps, within 0.33 ms of the wanted time).
"""

from __future__ import annotations

import argparse
import contextlib
import fractions
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils import data, paths

DEFAULT_CHECKPOINT = "results/models/flow_time_corpus.keras"  # the long-trained time-conditioned flow UNet
MAX_LEVELS = 6  # a midpoint network reaches multiples of 1 / 2**MAX_LEVELS
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 64
DEFAULT_FOLDER_FPS = 25.0

Method = Callable[[np.ndarray, np.ndarray], np.ndarray]


class InputError(ValueError):
    """A problem with what the user passed (file, folder, option); the CLI prints it without a traceback."""


# ----------------------------------------------------------------------------
# Tiled inference
# ----------------------------------------------------------------------------
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
        predict: maps an array (h, w, C) to an image (h, w, 3) (any h, w up to ``tile + align``).
        inputs: (H, W, C) array, e.g. two frames and their prior flows.
        tile: tile side; frames no larger than this are processed whole.
        overlap: pixels shared by neighbouring tiles (blended linearly across them). Motion larger
            than about half of it can reach outside a tile, so keep it above the largest motion.
        align: tile starts are multiples of this (the UNet's padding multiple, see :func:`model_method`).

    Returns:
        ``float32`` (H, W, 3).
    """
    height, width = inputs.shape[:2]
    if height <= tile and width <= tile:
        return np.asarray(predict(inputs), np.float32)
    output = np.zeros((height, width, 3), np.float32)
    total_weight = np.zeros((height, width, 1), np.float32)
    for top, bottom in tile_spans(height, tile, overlap, align):
        for left, right in tile_spans(width, tile, overlap, align):
            piece = np.asarray(predict(inputs[top:bottom, left:right]), np.float32)
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


def model_method(model, tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP) -> Method:
    """Wraps a UNet as ``(frame_a, frame_b) -> middle`` (``float32`` in [0, 1]), tiled for large frames.

    For the flow head the DIS prior flows are computed once on the whole frames (so tiles agree on
    the motion) and cut into tiles with the frames. The time-conditioned model (11 input channels) gets
    an ``at_time(frame_a, frame_b, t)`` attribute: any t directly, DIS's flows computed once per pair
    however many times are asked of it (see :func:`frames_between`).
    """
    from utils import flow
    from utils import model as model_lib

    predict = model_lib.predictor(model)
    channels = predict.channels
    align = padding_multiple(model)

    def run(inputs: np.ndarray) -> np.ndarray:
        return np.asarray(predict(inputs[None]))[0]

    def method(frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        if channels == 11:
            return at_time(frame_a, frame_b, 0.5)
        inputs = model_lib.model_inputs(frame_a, frame_b, channels)[0]
        return np.clip(tiled(run, inputs, tile, overlap, align), 0.0, 1.0)

    last: dict = {}  # the last pair's DIS flows: a 24 -> 60 fps conversion asks 2 or 3 times of one pair

    def at_time(frame_a: np.ndarray, frame_b: np.ndarray, t: float) -> np.ndarray:
        if last.get("a") is not frame_a or last.get("b") is not frame_b:
            last.update(a=frame_a, b=frame_b, flows=flow.dis_flows(frame_a, frame_b))
        inputs = model_lib.time_inputs(frame_a, frame_b, last["flows"], t)
        return np.clip(tiled(run, inputs, tile, overlap, align), 0.0, 1.0)

    if channels == 11:
        method.at_time = at_time
    return method


def load_method(name: str = "model", checkpoint: str | Path | None = None, tile: int = DEFAULT_TILE,
                overlap: int = DEFAULT_OVERLAP) -> Method:
    """The interpolation method named ``name``: ``model`` (a checkpoint), ``dis`` or ``average``.

    Raises:
        FileNotFoundError: for a missing checkpoint.
        ValueError: for an unknown name or a checkpoint that does not load.
    """
    from utils import baselines

    if name == "model":
        from utils import training

        return model_method(training.load_model(paths.resolve(checkpoint or DEFAULT_CHECKPOINT)), tile, overlap)
    simple = {"dis": timed(baselines.dis_interpolate), "average": timed(baselines.frame_average)}
    if name not in simple:
        raise ValueError(f"Unknown method {name!r}: expected model, dis or average.")
    return simple[name]


# ----------------------------------------------------------------------------
# Frames between two frames
# ----------------------------------------------------------------------------
def check_times(times: Sequence[float]) -> list[float]:
    """Validates times strictly between 0 (frame A) and 1 (frame B).

    Raises:
        InputError: naming the offending time.
    """
    for t in times:
        if not 0.0 < t < 1.0:
            raise InputError(f"--times: {t} is not strictly between 0 and 1 (0 is frame A, 1 frame B).")
    return [float(t) for t in times]


def midpoint_time(t: float) -> float:
    """The time a midpoint network reaches for ``t``: the nearest multiple of 1/64 inside (0, 1)."""
    steps = 2**MAX_LEVELS
    return min(max(round(t * steps), 1), steps - 1) / steps


def frames_between(method: Method, frame_a: np.ndarray, frame_b: np.ndarray,
                   times: Sequence[float]) -> dict[float, np.ndarray]:
    """Frames at the given ``times`` between ``frame_a`` (t=0) and ``frame_b`` (t=1).

    A method with an ``at_time(frame_a, frame_b, t)`` attribute (DIS, averaging) computes each time
    directly. Otherwise (a network trained for the midpoint) each time is reached by recursive midpoints,
    to the nearest multiple of 1/64 (:func:`midpoint_time`); only the midpoints some time needs are
    computed (3 calls for 1/4, 1/2 and 3/4).

    Returns:
        requested time -> ``uint8`` (H, W, 3) frame.
    """
    wanted = check_times(times)
    at_time = getattr(method, "at_time", None)
    if at_time is not None:
        return {t: data.to_uint8(at_time(frame_a, frame_b, t)) for t in wanted}
    cache: dict[tuple[float, float], np.ndarray] = {}

    def at(t: float, lo: float, hi: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        middle_time = 0.5 * (lo + hi)
        key = (lo, hi)
        if key not in cache:
            cache[key] = data.to_uint8(method(a, b))
        middle = cache[key]
        if math.isclose(t, middle_time):
            return middle
        return at(t, lo, middle_time, a, middle) if t < middle_time else at(t, middle_time, hi, middle, b)

    return {t: at(midpoint_time(t), 0.0, 1.0, frame_a, frame_b) for t in wanted}


def timed(function: Callable[..., np.ndarray]) -> Method:
    """Marks ``function(frame_a, frame_b, t=0.5)`` as able to compute any time (see :func:`frames_between`)."""
    def method(frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        return function(frame_a, frame_b)

    method.at_time = function
    return method


def is_scene_cut(frame_a: np.ndarray, frame_b: np.ndarray) -> bool:
    """True when two consecutive frames come from different shots (hue/saturation histograms differ)."""
    from utils import clips

    return clips.scene_cut_score(frame_a, frame_b) > clips.SCENE_CUT_THRESHOLD


def upsample_frames(method: Method, frames: Iterator[np.ndarray], factor: int,
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
        raise InputError(f"--factor must be a whole number of at least 2, got {factor}.")
    return int(factor)


def output_positions(input_frames: int, source_fps: float, target_fps: float) -> list[fractions.Fraction]:
    """Where each output frame falls in input-frame units: output frame k shows time k / target_fps.

    ``round(input_frames * target / source)`` output frames, so the duration is unchanged within one output
    frame; positions past the last input frame hold it.
    """
    ratio = fractions.Fraction(_rate(source_fps)) / fractions.Fraction(_rate(target_fps))
    count = max(1, round(input_frames / ratio))
    return [k * ratio for k in range(count)]


def retime_frames(method: Method, frames: Iterator[np.ndarray], source_fps: float, target_fps: float,
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
    ratio = fractions.Fraction(_rate(source_fps)) / fractions.Fraction(_rate(target_fps))
    lower = ratio > 1
    k = 0
    previous = None
    index = -1
    for index, frame in enumerate(frames):
        if previous is not None:
            if frame.shape != previous.shape:
                raise InputError(f"frame {index} is {frame.shape[1]}x{frame.shape[0]}, frame {index - 1} "
                                 f"{previous.shape[1]}x{previous.shape[0]}: every frame must have one size.")
            pending = []  # output frames whose position lies in [index - 1, index), as fractions past index - 1
            while k * ratio < index:
                pending.append(k * ratio - (index - 1))
                k += 1
            wanted = [float(t) for t in pending if t != 0 and not lower]
            cut = bool(wanted) and is_scene_cut(previous, frame)
            if cut and on_cut is not None:
                on_cut(index - 1)
            between = frames_between(method, previous, frame, wanted) if wanted and not cut else {}
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
    from utils import evaluation

    kept = list(frames[::2])
    if len(kept) < 2:
        raise ValueError(f"drop_and_rebuild needs at least 3 frames, got {len(frames)}.")
    dropped = list(range(1, 2 * len(kept) - 1, 2))
    result: dict = {"frames": dropped, "methods": {}}
    for name, upsample in upsamplers.items():
        rebuilt = upsample(kept)
        if len(rebuilt) != 2 * len(kept):
            raise ValueError(f"{name} returned {len(rebuilt)} frames for {len(kept)}: expected {2 * len(kept)}.")
        scores = [evaluation.frame_metrics(data.to_float(frames[i]), data.to_float(rebuilt[i])) for i in dropped]
        result["methods"][name] = {"psnr": [s["psnr"] for s in scores], "ssim": [s["ssim"] for s in scores],
                                   "rebuilt": [rebuilt[i] for i in dropped]}
    return result


def scores_table(scores: dict[str, dict[str, dict[str, Sequence[float]]]]) -> str:
    """Markdown table of mean PSNR / SSIM (:func:`utils.evaluation.results_table`): a row per method, a column per clip.

    Args:
        scores: clip -> method -> {"psnr": [...], "ssim": [...]} (per rebuilt frame); the last column
            is the mean over every rebuilt frame.
    """
    from utils import evaluation

    methods = {}
    for method in next(iter(scores.values())):
        per_clip = {clip: scores[clip][method] for clip in scores}
        methods[method] = {key: float(np.mean([v for values in per_clip.values() for v in values[key]]))
                           for key in ("psnr", "ssim")}
        methods[method]["groups"] = {clip: {key: float(np.mean(values[key])) for key in ("psnr", "ssim")}
                                     for clip, values in per_clip.items()}
    return evaluation.results_table({"methods": methods})


def reduce_frame_rate(source: str | Path, output: str | Path, keep_every: int = 2, last_seconds: float | None = None,
                      max_width: int | None = None) -> Path:
    """Writes a copy of a video with every ``keep_every``-th frame (frame rate divided), audio copied.

    Makes a low-frame-rate clip whose dropped frames are known: the input of a frame-rate conversion test.

    Args:
        source: video file.
        output: destination video (replaced if it exists; written to a temporary file first).
        keep_every: keep frames 0, k, 2k, ...; the frame rate is divided by k, the duration kept.
        last_seconds: only the end of the video, this many seconds.
        max_width: scale wider videos down to this width (height even, aspect kept).
    """
    from utils import baselines

    source, output = Path(source), Path(output)
    if not source.is_file():
        raise FileNotFoundError(f"Video file not found: {source}")
    info = open_source(source)
    filters = [f"select='not(mod(n\\,{keep_every}))'", f"setpts=N/({info.fps / keep_every}*TB)"]
    if max_width is not None and info.size[0] > max_width:
        filters.append(f"scale={max_width}:-2:flags=area")
    seek = ["-sseof", f"-{last_seconds}"] if last_seconds else []
    with paths.atomic_target(output) as temporary:
        command = [baselines.ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", *seek, "-i", str(source),
                   "-vf", ",".join(filters), "-r", _rate(info.fps / keep_every), "-c:v", "libx264", "-crf", "12",
                   "-pix_fmt", "yuv420p", "-c:a", "copy", str(temporary)]
        result = subprocess.run(command, capture_output=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"ffmpeg could not write {output}: {result.stderr.decode(errors='replace').strip()}")
    return output


# ----------------------------------------------------------------------------
# Reading and writing frames and videos
# ----------------------------------------------------------------------------
@dataclass
class Source:
    """A video file or a folder of numbered frames, with what the writer needs to know about it."""

    path: Path
    kind: str  # "video" or "folder"
    fps: float
    size: tuple[int, int]  # width, height
    frame_count: int
    has_audio: bool = False
    audio_codec: str | None = None


def _natural_key(path: Path):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def folder_frames(folder: Path) -> list[Path]:
    """Image files of a folder in natural order (frame2 before frame10)."""
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)


def open_source(path: str | Path, fps: float | None = None, exact_count: bool = False) -> Source:
    """Inspects a video file or a folder of frames.

    For a video, ``frame_count`` comes from the container's duration and frame rate (what the progress bar
    needs) unless ``exact_count``, which decodes the whole file once more to count its frames.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        InputError: if it is not a video ffmpeg can read, a folder without images, or has fewer
            than two frames.
    """
    import imageio_ffmpeg

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Input not found: {path}")
    if path.is_dir():
        files = folder_frames(path)
        if len(files) < 2:
            raise InputError(f"{path} holds {len(files)} image(s) ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                             "interpolation needs at least two frames.")
        first = data.read_image(files[0])
        return Source(path, "folder", float(fps or DEFAULT_FOLDER_FPS), (first.shape[1], first.shape[0]), len(files))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(f"{path} is a single image; `video` needs a video file or a folder of frames "
                         "(use `pair` for two images).")
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        reader.close()
        count = (imageio_ffmpeg.count_frames_and_secs(str(path))[0] if exact_count
                 else round(float(meta["duration"]) * float(meta["fps"])))
    except (RuntimeError, OSError, StopIteration) as error:
        raise InputError(f"Cannot read {path} as a video: expected a file ffmpeg can decode "
                         f"({str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__}).") from error
    if count < 2:
        raise InputError(f"{path} has {count} frame(s); interpolation needs at least two.")
    return Source(path, "video", float(fps or meta["fps"]), tuple(meta["size"]), int(count),
                  has_audio=bool(meta.get("audio_codec")), audio_codec=meta.get("audio_codec"))


def read_source(source: Source) -> Iterator[np.ndarray]:
    """Yields the frames of a :class:`Source` one at a time as ``uint8`` RGB (grayscale/RGBA converted)."""
    import imageio_ffmpeg

    if source.kind == "folder":
        for file in folder_frames(source.path):
            yield data.read_image(file)
        return
    width, height = source.size
    reader = imageio_ffmpeg.read_frames(str(source.path))
    next(reader)
    try:
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def _rate(fps: float) -> str:
    """An exact ffmpeg rate for ``fps``: 25 -> "25", 29.97 -> "30000/1001", 12.5 -> "25/2"."""
    ntsc = fps * 1.001
    if abs(fps - round(fps)) > 1e-6 and abs(ntsc - round(ntsc)) < 0.01:
        return f"{round(ntsc) * 1000}/1001"
    return str(fractions.Fraction(fps).limit_denominator(1000))


# Video codec options and the audio codecs each container can hold without re-encoding.
CONTAINERS: dict[str, dict] = {
    ".mp4": {"video": ["-c:v", "libx264", "-crf", "18", "-preset", "medium"], "audio": "aac",
             "keeps_audio": {"aac", "mp3", "alac", "opus"}},
    ".mov": {"video": ["-c:v", "libx264", "-crf", "18", "-preset", "medium"], "audio": "aac",
             "keeps_audio": {"aac", "mp3", "alac", "pcm_s16le", "pcm_s24le"}},
    ".mkv": {"video": ["-c:v", "libx264", "-crf", "18", "-preset", "medium"], "audio": "aac", "keeps_audio": None},
    ".webm": {"video": ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1", "-deadline", "good",
                        "-cpu-used", "4"], "audio": "libopus", "keeps_audio": {"opus", "vorbis"}},
    ".gif": {"video": ["-filter_complex", "[0:v]split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse"],
             "audio": None, "keeps_audio": set()},
}


def check_output_kind(output: Path) -> str:
    """``folder`` for a path without a suffix (or an existing folder), else the container's suffix.

    Raises:
        InputError: for a suffix no container here writes (before any work is done).
    """
    if is_folder_output(output):
        return "folder"
    suffix = output.suffix.lower()
    if suffix not in CONTAINERS:
        raise InputError(f"Output {output}: unknown video suffix {output.suffix!r}; expected one of "
                         f"{', '.join(CONTAINERS)}, or a folder (no suffix) for PNG frames.")
    return suffix


class VideoWriter:
    """Writes ``uint8`` RGB frames through imageio-ffmpeg's binary, the codec chosen by the container.

    H.264 (CRF 18) for .mp4, .mov and .mkv, VP9 for .webm, a palette computed over the whole clip for
    .gif. Odd frame sizes are kept exactly: 4:2:0 chroma needs even sizes, so odd ones are written 4:4:4.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float):
        from utils import baselines

        width, height = size
        suffix = path.suffix.lower()
        options = list(CONTAINERS[suffix]["video"])
        if suffix != ".gif":
            options += ["-pix_fmt", "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"]
        command = [baselines.ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", _rate(fps), "-i", "-",
                   *options, str(path)]
        self.path = path
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        self.process.stdin.write(np.ascontiguousarray(frame).tobytes())

    def close(self) -> None:
        self.process.stdin.close()
        error = self.process.stderr.read().decode(errors="replace").strip()
        if self.process.wait() != 0:
            raise RuntimeError(f"ffmpeg could not write {self.path}: {error}")

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        self.process.kill()
        self.process.wait()


def mux_audio(video: Path, audio_source: Path, output: Path, audio_codec: str | None = None) -> str:
    """Copies the audio stream of ``audio_source`` into ``video``; re-encodes it only if the container needs it.

    Args:
        audio_codec: the source's audio codec name (ffprobe style, e.g. ``aac``), when known.

    Returns:
        ``copied`` or the encoder used (``aac``, ``libopus``).
    """
    from utils import baselines

    container = CONTAINERS[output.suffix.lower()]
    base = [baselines.ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video),
            "-i", str(audio_source), "-map", "0:v:0", "-map", "1:a", "-c:v", "copy"]
    keeps = container["keeps_audio"]
    attempts = []
    if keeps is None or audio_codec is None or audio_codec.split()[0].lower() in keeps:
        attempts.append("copy")
    attempts.append(container["audio"])
    errors = ""
    for codec in attempts:
        result = subprocess.run([*base, "-c:a", codec, str(output)], capture_output=True, check=False)
        if result.returncode == 0:
            return "copied" if codec == "copy" else codec
        errors = result.stderr.decode(errors="replace").strip()
    raise RuntimeError(f"ffmpeg could not put the audio of {audio_source} into {output.suffix}: {errors}")


def _check_output(source_path: Path, output: Path, overwrite: bool) -> None:
    check_output_kind(output)
    if output.resolve() == source_path.resolve():
        raise InputError(f"Output {output} is the input: choose another path (the input is never overwritten).")
    if output.exists() and not overwrite:
        raise InputError(f"Output {output} exists: choose another path or pass --overwrite.")


def _replace(temporary: Path, output: Path) -> None:
    """Moves a finished temporary file or folder to ``output`` (an existing one is replaced last)."""
    if output.is_dir() and not temporary.is_dir():
        raise InputError(f"Output {output} is a folder; a video file cannot replace it.")
    if output.is_dir():
        trash = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".old-{output.name}-"))
        os.replace(output, trash / output.name)
        os.replace(temporary, output)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(temporary, output)


def is_folder_output(output: Path) -> bool:
    """A path without a suffix (or an existing folder) means: write numbered PNG frames into a folder."""
    return output.is_dir() or not output.suffix


def convert_video(source: Source, output: str | Path, method: Method, factor: int | None = None,
                  overwrite: bool = False, progress: bool = True, fps: float | None = None) -> dict:
    """Writes ``source`` at a new frame rate to ``output`` (a video file or a folder of PNG frames).

    Args:
        source: from :func:`open_source`.
        output: a video file whose suffix picks the container (:data:`CONTAINERS`) or a folder (no suffix)
            for PNG frames ``000000.png``, ``000001.png``, ...
        method: ``(frame_a, frame_b) -> middle`` (optionally with ``at_time``, see :func:`frames_between`).
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
    import time

    from tqdm.auto import tqdm

    output = Path(output)
    _check_output(source.path, output, overwrite)
    if fps is not None and factor is not None:
        raise InputError("Give either --fps or --factor, not both.")
    if fps is None:
        fps = source.fps * check_factor(factor or 2)
    if not 0 < fps <= 1000:
        raise InputError(f"--fps must be a frame rate above 0 and at most 1000, got {fps:g}.")
    output.parent.mkdir(parents=True, exist_ok=True)
    kind = check_output_kind(output)
    workspace = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".tmp-{output.name}-"))
    cuts: list[int] = []
    written = 0
    audio = "none"
    start = time.perf_counter()
    writer = None
    bar = tqdm(total=len(output_positions(source.frame_count, source.fps, fps)), unit="frame",
               desc=f"{source.fps:g} -> {fps:g} fps {source.path.name}", disable=not progress, file=sys.stderr)
    try:
        if kind == "folder":
            target = workspace / output.name
            target.mkdir()
        else:
            target = workspace / f"video{output.suffix.lower()}"
            writer = VideoWriter(target, source.size, fps)
        frames_read = 0

        def counted(frames):
            nonlocal frames_read
            for frame in frames:
                frames_read += 1
                yield frame

        for frame in retime_frames(method, counted(read_source(source)), source.fps, fps, on_cut=cuts.append):
            if kind == "folder":
                data.write_image(target / f"{written:06d}.png", frame)
            else:
                writer.write(frame)
            written += 1
            bar.update(1)
        if frames_read < 2:
            raise InputError(f"{source.path} has {frames_read} frame(s); interpolation needs at least two.")
        if writer is not None:
            writer.close()
            writer = None
        if source.has_audio and CONTAINERS.get(kind, {}).get("audio"):
            muxed = workspace / f"muxed{output.suffix.lower()}"
            audio = mux_audio(target, source.path, muxed, source.audio_codec)
            target = muxed
        elif source.has_audio:
            audio = f"dropped ({'a folder of frames' if kind == 'folder' else kind} holds no sound)"
        _replace(target, output)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()
        shutil.rmtree(workspace, ignore_errors=True)
    return {"input": paths.display(source.path), "output": paths.display(output),
            "input_frames": frames_read, "output_frames": written, "input_fps": source.fps, "output_fps": fps,
            "input_seconds": round(frames_read / source.fps, 4), "output_seconds": round(written / fps, 4),
            "scene_cuts": cuts, "audio": audio, "seconds": round(time.perf_counter() - start, 2)}


def write_pair_outputs(frames: dict[float, np.ndarray], output: Path, overwrite: bool) -> list[Path]:
    """Writes one frame to ``output`` (an image file), or several to ``output/frame_t0.250.png``."""
    if len(frames) == 1 and output.suffix:
        if output.exists() and not overwrite:
            raise InputError(f"Output {output} exists: choose another path or pass --overwrite.")
        if output.suffix.lower() not in IMAGE_SUFFIXES:
            raise InputError(f"Output {output}: expected an image suffix ({', '.join(sorted(IMAGE_SUFFIXES))}).")
        return [data.write_image(output, next(iter(frames.values())))]
    if output.suffix:
        raise InputError(f"Output {output}: with several --times, -o must be a folder (a path without a suffix).")
    written = []
    for t, frame in frames.items():
        target = output / f"frame_t{t:.3f}.png"
        if target.exists() and not overwrite:
            raise InputError(f"Output {target} exists: choose another folder or pass --overwrite.")
        written.append(data.write_image(target, frame))
    return written


# ----------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m utils.interpolate", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                        help=f"trained .keras model (default {DEFAULT_CHECKPOINT})")
    common.add_argument("--method", default="model", choices=("model", "dis", "average"),
                        help="the network (default) or a classical baseline")
    common.add_argument("--tile", type=int, default=DEFAULT_TILE,
                        help=f"largest tile side in pixels; bigger frames are processed in tiles (default {DEFAULT_TILE})")
    common.add_argument("--overlap", type=int, default=DEFAULT_OVERLAP,
                        help=f"pixels shared by neighbouring tiles (default {DEFAULT_OVERLAP})")
    common.add_argument("--overwrite", action="store_true", help="replace an existing output")
    common.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up lines")
    commands = parser.add_subparsers(dest="command", required=True)
    pair = commands.add_parser("pair", parents=[common], help="frames between two images")
    pair.add_argument("frame_a", type=Path)
    pair.add_argument("frame_b", type=Path)
    pair.add_argument("-o", "--output", type=Path, required=True,
                      help="an image file, or a folder when several --times are given")
    pair.add_argument("--times", type=float, nargs="+", default=[0.5],
                      help="times strictly between 0 and 1 (default 0.5)")
    video = commands.add_parser("video", parents=[common], help="a video (or a folder of frames) at N times the frame rate")
    video.add_argument("input", type=Path, help="a video file or a folder of numbered frames")
    video.add_argument("-o", "--output", type=Path, required=True,
                       help=f"a video file ({', '.join(CONTAINERS)}) or a folder (no suffix) for PNG frames")
    rate = video.add_mutually_exclusive_group()
    rate.add_argument("--fps", type=float, default=None, help="output frame rate, e.g. 60 (any rate, up or down)")
    rate.add_argument("--factor", type=int, default=None,
                      help="output rate = this whole number x the input rate (default 2 when --fps is not given)")
    video.add_argument("--input-fps", type=float, default=None,
                       help=f"frame rate of a folder of frames (default {DEFAULT_FOLDER_FPS:g}) or to override a video's")
    video.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (2 for bad input, with a one-line message)."""
    args = _parser().parse_args(argv)
    from utils import quiet

    with quiet.native_stderr_to_log("interpolate", args.verbose):
        return _run(args)


def _run(args) -> int:
    """Runs a parsed command line (see :func:`main`)."""
    import json

    try:
        if args.tile < 64 or not 0 <= args.overlap < args.tile // 2:
            raise InputError(f"--tile must be at least 64 and --overlap between 0 and tile/2, got "
                             f"--tile {args.tile} --overlap {args.overlap}.")
        if args.command == "pair":
            frame_a, frame_b = data.read_image(args.frame_a), data.read_image(args.frame_b)
            if frame_a.shape != frame_b.shape:
                raise InputError(f"{args.frame_a} is {frame_a.shape[1]}x{frame_a.shape[0]} but {args.frame_b} is "
                                 f"{frame_b.shape[1]}x{frame_b.shape[0]}: the two frames must have one size.")
            for given in (args.frame_a, args.frame_b):
                if args.output.resolve() == given.resolve():
                    raise InputError(f"Output {args.output} is an input: choose another path.")
            times = check_times(args.times)
            method = load_method(args.method, args.checkpoint, args.tile, args.overlap)
            written = write_pair_outputs(frames_between(method, frame_a, frame_b, times), args.output, args.overwrite)
            print(json.dumps({"times": times, "outputs": [paths.display(p) for p in written]}))
        else:
            check_output_kind(args.output)  # an unknown suffix fails before anything is read
            if args.factor is not None:
                check_factor(args.factor)
            source = open_source(args.input, args.input_fps)
            _check_output(source.path, args.output, args.overwrite)
            method = load_method(args.method, args.checkpoint, args.tile, args.overlap)
            summary = convert_video(source, args.output, method, args.factor, args.overwrite, not args.quiet,
                                    fps=args.fps)
            print(json.dumps(summary))
    except (InputError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written to the output", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
