"""Keeps TensorFlow's, XLA's and Jupyter kernels' start-up lines out of a person's terminal.

TensorFlow's C++ code (absl, oneDNN, CUDA stubs, XLA) writes its start-up lines to file descriptor 2
before ``TF_CPP_MIN_LOG_LEVEL`` is even read, and kernels started by papermill inherit that descriptor.
:func:`native_stderr_to_log` points descriptor 2 at ``build/logs/<command>.log`` while Python's own
``sys.stderr`` (progress bars, error messages) keeps writing to the terminal, so a command shows its own
progress and summary only; ``--verbose`` on the command lines leaves everything as it is.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from utils import paths

LOG_DIR = "build/logs"


def native_stderr_to_log(command: str, verbose: bool = False) -> Path | None:
    """Sends native (C/C++) writes to stderr to ``build/logs/<command>.log``; Python's stderr stays on the terminal.

    Call it first thing in a command's ``main``, before TensorFlow is imported.

    Args:
        command: the log file's name.
        verbose: leave stderr alone (and return ``None``).

    Returns:
        The log file, or ``None`` when ``verbose``.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if verbose:
        return None
    log = paths.resolve(LOG_DIR) / f"{command}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal = os.dup(2)
    handle = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(handle, 2)
    os.close(handle)
    sys.stderr = io.TextIOWrapper(os.fdopen(terminal, "wb", buffering=0), write_through=True,
                                  encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace")
    return log
