"""Video in and out through the ffmpeg binary that imageio-ffmpeg ships (no system ffmpeg needed).

Probing and decoding (:func:`read_video`, :func:`decode_video`, :func:`open_source` and :func:`read_source`
for a video file or a folder of numbered frames), frame times (:func:`output_positions`), encoding
(:class:`VideoWriter`, by container) and muxing the audio and subtitles back (:func:`mux_streams`).
"""

from __future__ import annotations

import contextlib
import fractions
import logging
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Full, Queue
from typing import TypeVar

import cv2
import imageio_ffmpeg
import numpy as np

from utils import flow, paths
from utils.media import image_io


T = TypeVar("T")


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
    """A video file or a folder of numbered frames, with what the writer needs to know about it.

    ``times``: each frame's presentation time in seconds from the first, for a variable-rate video (``None`` when
    the frames are evenly spaced at ``fps``; ``fps`` is then the average rate), and ``end`` the time the last frame
    ends. ``notes``: what the conversion changes or assumes that the user should hear (a raw stream's assumed rate,
    10-bit input written as 8-bit, ...).
    """

    path: Path
    kind: str  # "video" or "folder"
    fps: float
    size: tuple[int, int]  # width, height
    frame_count: int
    has_audio: bool = False
    audio_codec: str | None = None
    times: list[float] | None = None
    end: float | None = None
    subtitles: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    promised: int | None = None  # the frames the container's duration and rate promise (a short read says so)


RAW_STREAM_SUFFIXES = {".h264", ".264", ".h265", ".265", ".hevc", ".mjpeg", ".mjpg", ".m4v", ".m2v"}
"""Elementary streams: frames without timestamps or a container's frame rate."""


def stream_lines(path: Path) -> list[str]:
    """ffmpeg's ``Stream #...`` lines of a file (codecs, pixel formats, subtitles), empty if ffmpeg cannot open it."""
    result = subprocess.run([ffmpeg_executable(), "-hide_banner", "-i", str(path)], capture_output=True, text=True,
                            errors="replace", check=False)
    return [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("Stream #")]


def frame_times(path: Path) -> tuple[list[float], float] | None:
    """Presentation times of the first video stream's frames in seconds from the first, and when the last one
    ends, read from the packets without decoding (ffmpeg's ``framecrc`` with ``-c copy``). ``None`` when the
    stream carries no timestamps (a raw stream) or ffmpeg reads none."""
    result = subprocess.run([ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
                             "-c", "copy", "-f", "framecrc", "-"], capture_output=True, text=True, errors="replace",
                            check=False)
    base, packets = None, []
    for line in result.stdout.splitlines():
        if line.startswith("#tb 0:"):
            numerator, denominator = line.split(":", 1)[1].strip().split("/")
            base = fractions.Fraction(int(numerator), int(denominator))
        elif line and not line.startswith("#"):
            fields = [part.strip() for part in line.split(",")]
            if fields[0] == "0":
                packets.append((int(fields[2]), int(fields[3])))
    if base is None or not packets or any(abs(pts) >= 2**62 for pts, _ in packets):
        return None
    packets.sort()
    first = packets[0][0]
    times = [float((pts - first) * base) for pts, _ in packets]
    steps = np.diff(times)
    last = packets[-1][1] * base if packets[-1][1] > 0 else (float(np.median(steps)) if len(steps) else 0.0)
    return times, float(times[-1] + last)


def evenly_spaced(times: list[float], fps: float) -> bool:
    """True when every step between frame times is 1 / ``fps`` within the rounding of a container's time base
    (half a millisecond, or 2 % of a step)."""
    steps = np.diff(times)
    return bool(len(steps) == 0 or np.all(np.abs(steps - 1.0 / fps) <= max(5e-4, 0.02 / fps)))


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
    notes = []
    try:
        meta = probe(path)
        duration = float(meta.get("duration") or 0)
        raw = path.suffix.lower() in RAW_STREAM_SUFFIXES or not 0 < duration < float("inf")
        count = (imageio_ffmpeg.count_frames_and_secs(str(path))[0] if exact_count or raw
                 else round(duration * float(meta["fps"])))
    except (VideoError, RuntimeError, OSError) as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise InputError(f"Cannot read {path} as a video: expected a file ffmpeg can decode "
                         f"({reason.split('(', 1)[-1].rstrip(')') if isinstance(error, VideoError) else reason}).") from None
    if count < 2:
        raise InputError(f"{path} has {count} frame(s); interpolation needs at least two.")
    _check_frame_size(path, *meta["size"])
    rate, times, end = float(fps or meta["fps"] or DEFAULT_FOLDER_FPS), None, None
    promised = None if raw else round(duration * float(meta["fps"] or rate))
    if raw and fps is None:
        notes.append(f"{path.name} is a raw stream without frame times: read at {rate:g} fps (ffmpeg's assumption; "
                     "--input-fps sets the rate)")
    elif not raw and fps is None:
        found = frame_times(path)
        if found is not None and len(found[0]) >= 2 and not evenly_spaced(found[0], rate):
            times, end = found
            rate = len(times) / end
            count = len(times)
            notes.append(f"variable frame rate ({rate:.3g} fps on average): output frames are placed by the input "
                         "frames' times")
    streams = stream_lines(path)
    video_line = next((line for line in streams if "Video:" in line), "")
    if re.search(r"\b\w*p1[0246](le|be)\b|p010|p016|gbrp1[0246]", video_line):
        notes.append("10-bit input written as 8-bit (the network works on 8-bit RGB)")
    subtitles = [line.split("Subtitle:", 1)[1].split()[0].strip(",") for line in streams if "Subtitle:" in line]
    return Source(path, "video", rate, tuple(meta["size"]), int(count), has_audio=bool(meta.get("audio_codec")),
                  audio_codec=meta.get("audio_codec"), times=times, end=end, subtitles=subtitles, notes=notes,
                  promised=promised)


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
    # A variable-rate video is read frame by frame as stored (its times say when each is shown); by default ffmpeg
    # would repeat and drop frames to a constant rate.
    passthrough = ["-fps_mode", "passthrough"] if source.times is not None else None
    reader = imageio_ffmpeg.read_frames(str(source.path), output_params=passthrough)
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


TEXT_SUBTITLES = {"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"}
SUBTITLE_CODECS = {".mkv": "copy", ".mp4": "mov_text", ".mov": "mov_text", ".webm": "webvtt"}  # text subtitles


class VideoWriter:
    """Writes ``uint8`` RGB frames through imageio-ffmpeg's binary, the codec chosen by the container.

    H.264 (CRF 18) for .mp4, .mov and .mkv, VP9 (CRF 32) for .webm, a palette computed over the whole clip for
    .gif; ``crf`` sets the quality (lower is better: H.264 0-51, VP9 0-63), ``lossless`` stores the frames without
    loss in YUV 4:4:4 (the colour conversion rounds by at most a level; a folder of PNGs keeps them exactly).
    Video is written in YUV 4:2:0, which every browser and phone plays; 4:2:0 needs even sizes, so an odd width or
    height is padded by one pixel, a copy of the last column or row (:attr:`size` is what was written, and
    :attr:`description` says so).
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, crf: int | None = None, lossless: bool = False):
        width, height = size
        suffix = path.suffix.lower()
        options = list(CONTAINERS[suffix]["video"])
        self.pad = (0, 0)
        if suffix == ".gif":
            self.description = "GIF, one palette for the clip"
        else:
            h264 = suffix != ".webm"
            if lossless:
                options = _set_option(options, "-crf", None)
                options += ["-qp", "0"] if h264 else ["-lossless", "1"]
                pixels = "yuv444p"
            else:
                if crf is not None:
                    check_crf(suffix, crf)
                    options = _set_option(options, "-crf", str(crf))
                pixels = "yuv420p"
                self.pad = (width % 2, height % 2)
            codec = "H.264" if h264 else "VP9"
            quality = "lossless" if lossless else f"CRF {_option(options, '-crf')}"
            self.description = f"{codec} {quality}, {'4:4:4' if lossless else '4:2:0'}"
            if any(self.pad):
                self.description += (f", {width + self.pad[0]}x{height + self.pad[1]} (padded from {width}x{height} "
                                     "by repeating the last column or row: 4:2:0 needs even sizes)")
            options += ["-pix_fmt", pixels]
        self.size = (width + self.pad[0], height + self.pad[1])
        command = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.size[0]}x{self.size[1]}", "-r", rate_text(fps),
                   "-i", "-", *options, str(path)]
        self.path = path
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        if any(self.pad):
            frame = np.pad(frame, ((0, self.pad[1]), (0, self.pad[0]), (0, 0)), mode="edge")
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


def check_crf(kind: str, crf: int | None) -> None:
    """Raises :class:`InputError` unless ``crf`` is ``None`` or in the range of the encoder of ``kind`` (a container's
    suffix, or ``folder``, which has no encoder: any value is ignored there)."""
    if crf is None or kind not in CONTAINERS or kind == ".gif":
        return
    h264 = kind != ".webm"
    if not 0 <= crf <= (51 if h264 else 63):
        raise InputError(f"--crf {crf}: expected 0 to {51 if h264 else 63} for {kind} "
                         f"({'H.264' if h264 else 'VP9'}; lower is better).")


def _option(options: list[str], name: str) -> str | None:
    return options[options.index(name) + 1] if name in options else None


def _set_option(options: list[str], name: str, value: str | None) -> list[str]:
    """``options`` with ``name`` set to ``value`` (``None``: removed)."""
    options = list(options)
    if name in options:
        where = options.index(name)
        del options[where:where + 2]
    return options + ([name, value] if value is not None else [])


def mux_streams(video: Path, source: Path, output: Path, audio_codec: str | None = None, has_audio: bool = True,
                subtitles: list[str] | None = None) -> dict[str, str]:
    """Copies the audio and subtitle streams of ``source`` into ``video``, written to ``output``.

    Audio is copied, or re-encoded only where the container cannot hold its codec. Subtitles are copied into
    .mkv; text subtitles are converted for .mp4/.mov (mov_text) and .webm (WebVTT); the others are dropped.

    Args:
        audio_codec: the source's audio codec name (ffprobe style, e.g. ``aac``), when known.
        subtitles: the source's subtitle codecs (:attr:`Source.subtitles`).

    Returns:
        ``{"audio": "copied" or the encoder or "none", "subtitles": what became of them}``.
    """
    suffix = output.suffix.lower()
    container = CONTAINERS[suffix]
    subtitles = subtitles or []
    text = all(codec.lower() in TEXT_SUBTITLES for codec in subtitles)
    subtitle_codec = SUBTITLE_CODECS.get(suffix) if subtitles and (text or suffix == ".mkv") else None
    base = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video), "-i", str(source),
            "-map", "0:v:0", "-c:v", "copy"]
    if subtitle_codec:
        base += ["-map", "1:s", "-c:s", subtitle_codec]
    if not has_audio:
        attempts = [None]
    else:
        keeps = container["keeps_audio"]
        attempts = []
        if keeps is None or audio_codec is None or audio_codec.split()[0].lower() in keeps:
            attempts.append("copy")
        attempts.append(container["audio"])
    errors = ""
    for codec in attempts:
        audio = ["-map", "1:a", "-c:a", codec] if codec else []
        result = subprocess.run([*base, *audio, str(output)], capture_output=True, check=False)
        if result.returncode == 0:
            kept = (f"{len(subtitles)} stream(s) {'copied' if subtitle_codec == 'copy' else 'as ' + str(subtitle_codec)}"
                    if subtitle_codec else (f"dropped ({suffix} holds text subtitles only)" if subtitles else "none"))
            return {"audio": "none" if codec is None else "copied" if codec == "copy" else codec, "subtitles": kept}
        errors = result.stderr.decode(errors="replace").strip()
    raise RuntimeError(f"ffmpeg could not put the audio and subtitles of {source} into {output.suffix}: {errors}")


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Yields ``items`` as a worker thread produces them, up to ``depth`` ahead: decoding (or computing) the next
    frames while the caller encodes the last ones. The stages release the GIL in their native code (ffmpeg pipes,
    OpenCV, TensorFlow), so on two cores they overlap.

    An exception in the worker is raised here, in the caller; when the caller stops early (an error, Ctrl-C, a
    ``break``), the worker stops at its next item and the source is closed.
    """
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put((item, None), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    break
            outcome = (done, None)
        except BaseException as error:  # handed to the caller, who raises it
            outcome = (done, error)
        finally:
            close = getattr(items, "close", None)
            if close is not None and stop.is_set():
                close()
        while not stop.is_set():
            try:
                queue.put(outcome, timeout=0.1)
                return
            except Full:
                continue

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = queue.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
