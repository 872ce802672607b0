"""Commands print their own progress and summary only: TensorFlow's start-up lines go to build/logs."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from utils import paths, quiet
from utils.media import image_io
from utils.tools import pipeline


def _run(arguments, cwd):
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    environment["PYTHONPATH"] = str(paths.repo_root())
    return subprocess.run([sys.executable, "-m", *arguments], capture_output=True, text=True, cwd=cwd,
                          env=environment, timeout=300)


def _noise(text: str) -> list[str]:
    return [line for line in text.splitlines() if pipeline.STARTUP_NOISE.match(line)]


def test_evaluate_keeps_tensorflow_start_up_lines_out_of_the_terminal(vimeo_root, tmp_path):
    command = ["utils.evaluation.evaluate", "--data-root", str(vimeo_root), "--methods", "average", "dis", "--timing-size", "off"]
    quiet = _run(command, tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert _noise(quiet.stderr) == [] and "[1/2]" in quiet.stderr  # its own progress lines stay
    log = paths.repo_root() / "build" / "logs" / "evaluate.log"
    assert _noise(log.read_text())  # the lines went to the log, so the check above can fail
    loud = _run([*command, "--verbose"], tmp_path)
    assert loud.returncode == 0 and _noise(loud.stderr)


def test_interpolate_is_quiet(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        image_io.write_image(tmp_path / name, rng.integers(0, 255, (32, 48, 3), dtype=np.uint8))
    done = _run(["utils.video.interpolate", "pair", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o",
                 str(tmp_path / "mid.png"), "--method", "dis"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert _noise(done.stderr) == [] and (tmp_path / "mid.png").is_file()


@pytest.mark.parametrize("module", ["utils.tools.pipeline", "utils.training.longrun", "utils.data.corpus",
                                    "utils.data.tfrecords", "utils.evaluation.evaluate", "utils.video.interpolate"])
def test_help_imports_no_tensorflow(module, tmp_path):
    done = _run([module, "--help"], tmp_path)
    assert done.returncode == 0 and _noise(done.stderr) == [] and "usage" in done.stdout


def test_the_redirection_ends_with_the_block(tmp_path):
    """In-process callers (tests, notebooks) get their stderr back after a command's main returns."""

    before = os.fstat(2)
    with quiet.native_stderr_to_log("quiet_test") as log:
        os.write(2, b"native line\n")
        assert os.fstat(2).st_ino == log.stat().st_ino
    after = os.fstat(2)
    assert (after.st_ino, after.st_dev) == (before.st_ino, before.st_dev)
    assert log.read_text() == "native line\n"
