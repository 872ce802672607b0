"""Video in and out through the ffmpeg binary that imageio-ffmpeg ships (no system ffmpeg needed).

Probing and decoding (:func:`read_video`, :func:`decode_video`, :func:`open_source` and :func:`read_source`
for a video file or a folder of numbered frames), frame times (:func:`output_positions`), encoding
(:class:`VideoWriter`, by container) and muxing the audio back (:func:`mux_audio`).
"""

from __future__ import annotations

import contextlib
import fractions
import logging
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from utils import flow, paths
from utils.media import image_io


class VideoError(RuntimeError):
    """A video file that ffmpeg cannot decode."""


def probe(path: str | Path) -> dict:
    """What ffmpeg reports of a video before its first frame: ``size`` (width, height), ``fps``, ``duration``,
    ``codec``, ``audio_codec`` (imageio-ffmpeg's header of the stream).

    Raises:
        VideoError: when ffmpeg cannot open the file as a video (ffmpeg's last line in the message).
    """
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        reader.close()
    except (RuntimeError, OSError, StopIteration) as error:
        message = str(error).strip().splitlines()
        raise VideoError(f"{path}: cannot decode the video ({message[-1] if message else type(error).__name__})"
                         ) from None
    return meta


def read_video(path: str | Path, max_width: int | None = None) -> tuple[list[np.ndarray], float]:
    """Reads every frame of a video file.

    Args:
        path: video file (anything ffmpeg reads).
        max_width: if given, frames wider than this are resized (area filter, aspect kept,
            sizes rounded to even numbers).

    Returns:
        ``(frames, fps)``: ``uint8`` RGB frames and the frame rate.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if ffmpeg cannot read it as a video.
    """

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Video file not found: {path}")
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        width, height = meta["size"]
        frames = [np.frombuffer(raw, np.uint8).reshape(height, width, 3) for raw in reader]
    except (RuntimeError, OSError, StopIteration) as error:
        raise ValueError(f"Cannot read video {path}: expected a video file ffmpeg can decode ({error}).") from error
    if max_width is not None and width > max_width:
        new_height = int(round(height * max_width / width / 2)) * 2
        frames = [cv2.resize(f, (max_width, new_height), interpolation=cv2.INTER_AREA) for f in frames]
    return frames, float(meta["fps"])


def is_folder_output(output: Path) -> bool:
    """A path without a suffix (or an existing folder) means: write numbered PNG frames into a folder."""
    return output.is_dir() or not output.suffix


def decode_video(path: Path, max_width: int = 448, max_frames: int | None = None
                 ) -> tuple[Iterator[np.ndarray], float]:
    """Streams a video's frames as ``uint8`` RGB, scaled by ffmpeg to at most ``max_width`` (even sizes).

    Raises:
        VideoError: when ffmpeg cannot decode the file.
    """

    logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)  # "frame size for reading differs": asked for
    meta = probe(path)
    width, height = meta["size"]
    out_width = min(width, max_width) // 2 * 2
    out_height = max(2, int(round(height * out_width / width / 2)) * 2)
    reader = imageio_ffmpeg.read_frames(str(path), output_params=[
        "-vf", f"scale={out_width}:{out_height}:flags=area", "-frames:v", str(max_frames or 10**9)])
    next(reader)

    def frames():
        try:
            for raw in reader:
                yield np.frombuffer(raw, np.uint8).reshape(out_height, out_width, 3)
        except RuntimeError as error:
            raise VideoError(f"{path}: decoding failed ({error})") from None

    return frames(), float(meta.get("fps") or 25.0)


def ffmpeg_executable() -> str:
    """Path of the ffmpeg binary that imageio-ffmpeg ships (no system ffmpeg needed)."""

    return imageio_ffmpeg.get_ffmpeg_exe()


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


DEFAULT_FOLDER_FPS = 25.0


class InputError(ValueError):
    """A problem with what the user passed (file, folder, option); the CLI prints it without a traceback."""


def output_positions(input_frames: int, source_fps: float, target_fps: float) -> list[fractions.Fraction]:
    """Where each output frame falls in input-frame units: output frame k shows time k / target_fps.

    ``round(input_frames * target / source)`` output frames, so the duration is unchanged within one output
    frame; positions past the last input frame hold it.
    """
    ratio = fractions.Fraction(rate_text(source_fps)) / fractions.Fraction(rate_text(target_fps))
    count = max(1, round(input_frames / ratio))
    return [k * ratio for k in range(count)]


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

    source, output = Path(source), Path(output)
    if not source.is_file():
        raise FileNotFoundError(f"Video file not found: {source}")
    info = open_source(source)
    filters = [f"select='not(mod(n\\,{keep_every}))'", f"setpts=N/({info.fps / keep_every}*TB)"]
    if max_width is not None and info.size[0] > max_width:
        filters.append(f"scale={max_width}:-2:flags=area")
    seek = ["-sseof", f"-{last_seconds}"] if last_seconds else []
    with paths.atomic_target(output) as temporary:
        command = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", *seek, "-i", str(source),
                   "-vf", ",".join(filters), "-r", rate_text(info.fps / keep_every), "-c:v", "libx264", "-crf", "12",
                   "-pix_fmt", "yuv420p", "-c:a", "copy", str(temporary)]
        result = subprocess.run(command, capture_output=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"ffmpeg could not write {output}: {result.stderr.decode(errors='replace').strip()}")
    return output


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

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Input not found: {path}")
    if path.is_dir():
        files = folder_frames(path)
        if len(files) < 2:
            raise InputError(f"{path} holds {len(files)} image(s) ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                             "interpolation needs at least two frames.")
        first = image_io.read_image(files[0])
        _check_frame_size(path, first.shape[1], first.shape[0])
        return Source(path, "folder", float(fps or DEFAULT_FOLDER_FPS), (first.shape[1], first.shape[0]), len(files))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(f"{path} is a single image; `video` needs a video file or a folder of frames "
                         "(use `pair` for two images).")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes): expected a video file.")
    try:
        meta = probe(path)
        count = (imageio_ffmpeg.count_frames_and_secs(str(path))[0] if exact_count
                 else round(float(meta["duration"]) * float(meta["fps"])))
    except (VideoError, RuntimeError, OSError) as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise InputError(f"Cannot read {path} as a video: expected a file ffmpeg can decode "
                         f"({reason.split('(', 1)[-1].rstrip(')') if isinstance(error, VideoError) else reason}).") from None
    if count < 2:
        raise InputError(f"{path} has {count} frame(s); interpolation needs at least two.")
    _check_frame_size(path, *meta["size"])
    return Source(path, "video", float(fps or meta["fps"]), tuple(meta["size"]), int(count),
                  has_audio=bool(meta.get("audio_codec")), audio_codec=meta.get("audio_codec"))


def _check_frame_size(path: Path, width: int, height: int) -> None:
    try:
        flow.check_size(width, height, str(path))
    except ValueError as error:
        raise InputError(str(error)) from None


def read_source(source: Source) -> Iterator[np.ndarray]:
    """Yields the frames of a :class:`Source` one at a time as ``uint8`` RGB (grayscale/RGBA converted)."""

    if source.kind == "folder":
        for file in folder_frames(source.path):
            yield image_io.read_image(file)
        return
    width, height = source.size
    reader = imageio_ffmpeg.read_frames(str(source.path))
    next(reader)
    try:
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def rate_text(fps: float) -> str:
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

        width, height = size
        suffix = path.suffix.lower()
        options = list(CONTAINERS[suffix]["video"])
        if suffix != ".gif":
            options += ["-pix_fmt", "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"]
        command = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", rate_text(fps), "-i", "-",
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

    container = CONTAINERS[output.suffix.lower()]
    base = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video),
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
