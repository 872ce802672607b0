"""The video command is safe with a user's files and says what is wrong in one line: it replaces only what it
wrote, leaves nothing behind when killed, and refuses bad values before the model loads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from utils import paths, quiet
from utils.media import image_io, video_io
from utils.video import interpolate


def ffmpeg(*arguments):
    subprocess.run([video_io.ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", *map(str, arguments)],
                   check=True)


def pattern(path, size="64x48", rate=10, seconds=1.0):
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}", "-t", seconds, "-pix_fmt", "yuv420p", path)
    return path


def run(capsys, *arguments):
    try:
        code = interpolate.main([*map(str, arguments)])
    except SystemExit as stop:  # argparse refuses a bad value before any work
        code = stop.code
    return code, capsys.readouterr().err


def test_overwrite_never_deletes_what_the_command_did_not_write(tmp_path, capsys):
    folder = tmp_path / "sb"
    folder.mkdir()
    video = pattern(folder / "clip.mp4")
    (folder / "notes.txt").write_text("my notes")
    code, error = run(capsys, "video", video, "-o", folder, "--overwrite", "--method", "average", "--quiet")
    assert code == 2 and "which this command did not write" in error and len(error.strip().splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["clip.mp4", "notes.txt"]
    assert (folder / "notes.txt").read_text() == "my notes"


def test_a_folder_of_its_own_frames_is_replaced_frame_by_frame(tmp_path, capsys):
    video = pattern(tmp_path / "clip.mp4")  # 10 frames -> 20 at twice the rate
    frames = tmp_path / "frames"
    frames.mkdir()
    for index in (0, 1, 25):  # an earlier, longer run's frames
        image_io.write_image(frames / f"{index:06d}.png", np.zeros((48, 64, 3), np.uint8))
    assert run(capsys, "video", video, "-o", frames, "--overwrite", "--method", "average", "--quiet")[0] == 0
    assert sorted(p.name for p in frames.iterdir()) == [f"{k:06d}.png" for k in range(20)]
    assert image_io.read_image(frames / "000001.png").mean() > 10  # a new frame, not the old black one


@pytest.mark.parametrize("case", ["the current folder", "a file without a suffix"])
def test_outputs_that_cannot_be_a_folder_of_frames_are_refused(case, tmp_path, capsys, monkeypatch):
    video = pattern(tmp_path / "clip.mp4")
    if case == "the current folder":
        monkeypatch.chdir(tmp_path)
        output = "."
    else:
        output = tmp_path / "result"
        output.write_text("the user's file")
    code, error = run(capsys, "video", video, "-o", output, "--overwrite", "--method", "average", "--quiet")
    assert code == 2 and len(error.strip().splitlines()) == 1, error
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["clip.mp4"] + ([] if output == "." else ["result"]))


def test_sigterm_mid_run_leaves_nothing_behind(tmp_path):
    video = pattern(tmp_path / "clip.mp4", size="320x240", rate=25, seconds=8.0)
    output = tmp_path / "out.mp4"
    process = subprocess.Popen([sys.executable, "-m", "utils.video.interpolate", "video", str(video), "-o", str(output),
                                "--method", "dis", "--quiet"], cwd=paths.repo_root(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".tmp-out.mp4") for p in tmp_path.iterdir()):  # it has started writing
        assert process.poll() is None and time.monotonic() < deadline, "the command ended before it was killed"
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, error = process.communicate(timeout=60)
    assert process.returncode == 143 and "terminated: nothing was written" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


@pytest.mark.parametrize("option,value,message", [
    ("--input-fps", "-3", "argument --input-fps: expected a frame rate above 0 and at most 1000, got -3"),
    ("--input-fps", "0", "argument --input-fps: expected a frame rate above 0 and at most 1000, got 0"),
    ("--fps", "nan", "argument --fps: expected a frame rate above 0 and at most 1000, got nan"),
    ("--factor", "2.5", "argument --factor: expected a whole number of at least 2, got 2.5"),
])
def test_bad_rates_are_refused_before_anything_is_read(option, value, message, tmp_path, capsys):
    code, error = run(capsys, "video", tmp_path / "missing.mp4", "-o", tmp_path / "out.mp4", option, value)
    assert code == 2 and message in error


def test_a_factor_past_the_largest_rate_names_the_factor(tmp_path, capsys):
    code, error = run(capsys, "video", pattern(tmp_path / "clip.mp4"), "-o", tmp_path / "out.mp4", "--factor", "101",
                      "--method", "average", "--quiet")
    assert code == 2 and "--factor 101 makes 1010 fps" in error


def test_empty_and_tiny_inputs_get_one_line(tmp_path, capsys):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    code, error = run(capsys, "video", empty, "-o", tmp_path / "out.mp4", "--method", "average")
    assert code == 2 and "empty.mp4 is empty (0 bytes)" in error
    tiny = pattern(tmp_path / "tiny.mp4", size="8x8")
    code, error = run(capsys, "video", tiny, "-o", tmp_path / "out.mp4", "--method", "average")
    assert code == 2 and "tiny.mp4: frames of 8x8 are too small" in error and len(error.strip().splitlines()) == 1
    for name in ("a.png", "b.png"):
        image_io.write_image(tmp_path / name, np.zeros((10, 10, 3), np.uint8))
    code, error = run(capsys, "pair", tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "m.png", "--method", "dis")
    assert code == 2 and "frames of 10x10 are too small" in error


def test_close_times_get_distinct_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        image_io.write_image(tmp_path / name, rng.integers(0, 255, (32, 48, 3), dtype=np.uint8))
    assert run(capsys, "pair", tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "mid", "--times", "0.3333",
               "0.3334", "--method", "dis")[0] == 0
    assert sorted(p.name for p in (tmp_path / "mid").iterdir()) == ["frame_t0.3333.png", "frame_t0.3334.png"]


def test_logs_go_where_the_user_can_write(tmp_path, monkeypatch):
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(quiet.paths, "resolve", lambda path: blocked / "logs")
    log = quiet.log_path("interpolate")
    assert log.parent.name == "vfi-logs" and os.access(log, os.W_OK)


def test_curves_to_a_file_that_is_not_a_figure_is_refused(capsys):
    from utils.training import longrun

    assert longrun.main(["--curves", "x.txt"]) == 2
    assert "--curves x.txt: expected a figure file ending in .png" in capsys.readouterr().err
