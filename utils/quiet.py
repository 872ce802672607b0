"""Keeps TensorFlow's, XLA's and Jupyter kernels' start-up lines out of a person's terminal.

TensorFlow's C++ code (absl, oneDNN, CUDA stubs, XLA) writes its start-up lines to file descriptor 2
before ``TF_CPP_MIN_LOG_LEVEL`` is even read, and kernels started by papermill inherit that descriptor.
:func:`native_stderr_to_log` points descriptor 2 at ``build/logs/<command>.log`` while Python's own
``sys.stderr`` (progress bars, error messages) keeps writing to the terminal, so a command shows its own
progress and summary only; ``--verbose`` on the command lines leaves everything as it is.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from utils import paths

LOG_DIR = "build/logs"


def log_path(command: str) -> Path:
    """``build/logs/<command>.log`` in the repository, or in the system's temporary folder where the repository
    cannot be written (a read-only install)."""
    for folder in (paths.resolve(LOG_DIR), Path(tempfile.gettempdir()) / "vfi-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{command}.log", "a"):
                return folder / f"{command}.log"
        except OSError:
            continue
    raise OSError(f"no folder for the log {command}.log: {paths.resolve(LOG_DIR)} and the temporary folder "
                  "are not writable")


@contextlib.contextmanager
def native_stderr_to_log(command: str, verbose: bool = False) -> Iterator[Path | None]:
    """Within the block, native (C/C++) writes to stderr go to ``build/logs/<command>.log``.

    Python's ``sys.stderr`` keeps the terminal (when it wrote to descriptor 2, it is given a duplicate of
    the old descriptor; a captured stream, as under pytest, is left as it is). Both are restored after
    the block. Enter it before TensorFlow is imported: its start-up lines come at import time.

    Args:
        command: the log file's name.
        verbose: leave stderr alone (the block gets ``None``).

    Yields:
        The log file, or ``None`` when ``verbose``.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if verbose:
        yield None
        return
    log = log_path(command)
    original = sys.stderr
    original.flush()
    try:
        writes_to_descriptor_2 = original.fileno() == 2
    except (AttributeError, ValueError, io.UnsupportedOperation):
        writes_to_descriptor_2 = False
    saved = os.dup(2)
    handle = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(handle, 2)
    os.close(handle)
    if writes_to_descriptor_2:
        sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(saved), "wb", buffering=0), write_through=True,
                                      encoding=original.encoding or "utf-8", errors="backslashreplace")
    try:
        yield log
    finally:
        if sys.stderr is not original:
            sys.stderr.flush()
            sys.stderr.close()
            sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)
