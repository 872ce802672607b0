"""Where things live, independent of the current working directory.

papermill starts kernels in the caller's directory and nbval in the notebook's
folder, so notebooks resolve every relative path against the repository root.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

DEFAULT_CHECKPOINT = "results/models/flow_time_corpus.keras"  # the long-trained time-conditioned flow UNet


COMMANDS = {  # module -> the console script pyproject.toml installs for it
    "utils.video.interpolate": "vfi-video", "utils.evaluation.evaluate": "vfi-evaluate",
    "utils.training.longrun": "vfi-train", "utils.data.corpus": "vfi-corpus", "utils.data.tfrecords": "vfi-tfrecords",
    "utils.tools.pipeline": "vfi-notebooks", "utils.tools.bench": "vfi-bench", "utils.tools.gpu_check": "vfi-gpu-check",
    "utils.tools.colab": "vfi-colab",
}


def program(module: str) -> str:
    """How the user called a command, for its usage line: ``vfi-video`` (the installed script) or
    ``python -m utils.video.interpolate``."""
    called = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return called if called == COMMANDS.get(module) else f"python -m {module}"


def repo_root() -> Path:
    """Returns the repository root (the folder holding ``utils/`` and ``notebooks/``).

    Looks upwards from the current directory first (a clone used from inside),
    then falls back to the folder above this package (an editable install).
    """
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "utils" / "__init__.py").is_file() and (folder / "notebooks").is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


def resolve(path: str | Path) -> Path:
    """Returns ``path`` as an absolute path; relative paths are taken from the repository root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else repo_root() / path


def display(path: str | Path) -> str:
    """Returns ``path`` relative to the repository root when it lies inside it (for records and messages)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(repo_root().resolve()))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def atomic_target(path: str | Path):
    """Yields a temporary path beside ``path``; on success renames it to ``path``.

    Nothing half-written is ever left at ``path``: an interrupted or failed write
    removes the temporary file and keeps whatever was there before.

    Example::

        with atomic_target("results/metrics.json") as temporary:
            temporary.write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.stem}-", suffix=path.suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def save_json(payload: dict, path: str | Path) -> Path:
    """Writes JSON atomically (temporary file, then rename); returns the path."""
    with atomic_target(path) as temporary:
        temporary.write_text(json.dumps(payload, indent=1))
    return Path(path)


def load_json(path: str | Path) -> dict:
    """Reads a JSON file, with a clear error when it is missing or broken."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"JSON file not found: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"Cannot parse {path}: expected JSON ({error}).") from error


def digest(path: str | Path) -> str:
    """The first 16 hex digits of a file's SHA-256: what a committed result records of the model files it scored,
    so that a reader can tell whether it still describes the files beside it."""
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]
