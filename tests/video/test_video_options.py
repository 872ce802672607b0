"""What the video command does with the files users have (variable frame rates, raw streams, cut files, subtitles,
10-bit) and the options they ask for (slow motion, quality, side by side, scene cuts, repeated frames, --scale)."""

from __future__ import annotations

import json
import re
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from utils.media import image_io, video_io
from utils.models import interpolator
from utils.video import convert, interpolate, retime


def ffmpeg(*arguments):
    subprocess.run([video_io.ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", *map(str, arguments)],
                   check=True)


def packets(path, stream):
    """Checksums of a stream's packets (``a`` or ``s``): equal lists mean it was copied bit for bit."""
    result = subprocess.run([video_io.ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-i", str(path),
                             "-map", f"0:{stream}", "-c", "copy", "-f", "framemd5", "-"], capture_output=True, check=True)
    return [line.split(",")[-1].strip() for line in result.stdout.decode().splitlines() if not line.startswith("#")]


def run(capsys, *arguments):
    try:
        code = interpolate.main([*map(str, arguments)])
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def pattern(path, size="96x64", rate=10, seconds=1.0, extra=()):
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}", "-t", seconds, *extra, "-pix_fmt", "yuv420p", path)
    return path


def test_a_variable_rate_clip_keeps_its_duration_and_its_sound(tmp_path, capsys):
    source = tmp_path / "phone.mp4"  # 4 of every 7 frames of a 30 fps pattern: gaps of 1/30 and 4/30 s, 2 s of sound
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
           "-filter_complex", "[0:v]select='lt(mod(n\\,7)\\,4)'[v]", "-map", "[v]", "-map", "1:a", "-t", "2",
           "-fps_mode", "vfr", "-c:v", "libx264", "-c:a", "aac", source)
    info = video_io.open_source(source)
    assert info.times is not None and info.frame_count == len(info.times) < 40 and info.end == pytest.approx(2.0)
    code, summary, err = run(capsys, "video", source, "-o", tmp_path / "out.mp4", "--fps", 30, "--method", "dis")
    assert code == 0 and "variable frame rate" in err
    written = video_io.open_source(tmp_path / "out.mp4", exact_count=True)
    assert abs(written.frame_count / written.fps - 2.0) <= 1 / 30 and summary["output_frames"] == 60
    assert summary["audio"] == "copied" and packets(tmp_path / "out.mp4", "a") == packets(source, "a")


def test_frames_are_placed_by_their_times():
    frames = [np.full((16, 16, 3), value, np.uint8) for value in (0, 40, 120, 200)]
    average = interpolator.BASELINES["average"]
    out = list(retime.retime_frames(average, iter(frames), 8.0, 10.0, times=[0.0, 0.1, 0.3, 0.4], end=0.5))
    assert [int(frame[0, 0, 0]) for frame in out] == [0, 40, 80, 120, 200]  # 0.2 s: halfway between 0.1 and 0.3


def test_a_raw_stream_is_read_at_an_assumed_rate_that_can_be_set(tmp_path, capsys):
    source = tmp_path / "camera.h264"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-t", 1, "-c:v", "libx264", "-f", "h264", source)
    code, summary, err = run(capsys, "video", source, "-o", tmp_path / "out.mp4", "--method", "dis")
    assert code == 0 and summary["input_frames"] == 25 and "raw stream without frame times" in err
    code, summary, err = run(capsys, "video", source, "-o", tmp_path / "slow.mp4", "--method", "dis", "--input-fps", 10)
    assert code == 0 and summary["input_fps"] == 10 and summary["output_seconds"] == pytest.approx(2.5)


def test_a_file_cut_short_says_how_much_it_read(tmp_path, capsys):
    whole = pattern(tmp_path / "whole.mp4", size="160x120", rate=24, seconds=2, extra=("-g", "12", "-movflags",
                                                                                       "+faststart"))
    cut = tmp_path / "cut.mp4"  # the index at the front promises 48 frames; half the data is there
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    code, summary, err = run(capsys, "video", cut, "-o", tmp_path / "out.mp4", "--method", "dis")
    assert code == 0
    note = next(n for n in summary["notes"] if n.startswith("read "))
    assert re.fullmatch(r"read (\d+) of the 48 frames the container promised: .*", note) and note in err
    assert int(note.split()[1]) == summary["input_frames"] < 40


def test_subtitles_are_carried_where_the_container_holds_them(tmp_path, capsys):
    subtitles = tmp_path / "s.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    source = tmp_path / "film.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-i", subtitles, "-t", 1, "-map", "0:v", "-map", "1:s",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:s", "srt", source)
    code, summary, _ = run(capsys, "video", source, "-o", tmp_path / "out.mkv", "--method", "dis")
    assert code == 0 and summary["subtitles"] == "1 stream(s) copied"
    assert packets(tmp_path / "out.mkv", "s") == packets(source, "s")
    code, summary, _ = run(capsys, "video", source, "-o", tmp_path / "out.mp4", "--method", "dis")
    assert code == 0 and summary["subtitles"] == "1 stream(s) as mov_text"
    assert "Subtitle: mov_text" in " ".join(video_io.stream_lines(tmp_path / "out.mp4"))
    code, summary, err = run(capsys, "video", source, "-o", tmp_path / "out.gif", "--method", "dis")
    assert code == 0 and summary["subtitles"] == "dropped (.gif holds none)" and "subtitles dropped" in err


def test_ten_bit_input_gets_a_note(tmp_path, capsys):
    source = tmp_path / "deep.mkv"
    try:
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", 0.5, "-c:v", "libx264", "-pix_fmt",
               "yuv420p10le", source)
    except subprocess.CalledProcessError:
        pytest.skip("this ffmpeg has no 10-bit H.264 encoder")
    code, summary, _ = run(capsys, "video", source, "-o", tmp_path / "out.mp4", "--method", "dis")
    assert code == 0 and any("10-bit input written as 8-bit" in note for note in summary["notes"])
    code, summary, _ = run(capsys, "video", pattern(tmp_path / "eight.mp4"), "-o", tmp_path / "o8.mp4", "--method", "dis")
    assert not summary["notes"]


def test_slow_motion_plays_more_frames_at_the_input_rate(tmp_path, capsys):
    source = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-f", "lavfi", "-i", "sine", "-t", 1, "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-c:a", "aac", source)
    code, summary, _ = run(capsys, "video", source, "-o", tmp_path / "slow.mp4", "--slowmo", 4, "--method", "dis")
    assert code == 0 and summary["output_frames"] == 40 and summary["output_fps"] == 10
    assert summary["output_seconds"] == pytest.approx(4.0) and summary["audio"].startswith("dropped (--slowmo 4")
    assert video_io.open_source(tmp_path / "slow.mp4", exact_count=True).frame_count == 40
    code, summary, _ = run(capsys, "video", source, "-o", tmp_path / "slow60.mp4", "--slowmo", 2, "--fps", 30,
                           "--method", "dis")
    assert code == 0 and summary["output_frames"] == 60 and summary["output_seconds"] == pytest.approx(2.0)


def test_quality_options(tmp_path, capsys):
    source = pattern(tmp_path / "clip.mp4", size="160x120")
    sizes = {}
    for crf in (10, 40):
        code, summary, _ = run(capsys, "video", source, "-o", tmp_path / f"crf{crf}.mp4", "--crf", crf, "--method", "dis")
        assert code == 0 and summary["video"].startswith(f"H.264 CRF {crf}, 4:2:0")
        sizes[crf] = (tmp_path / f"crf{crf}.mp4").stat().st_size
    assert sizes[40] < sizes[10] / 2
    code, summary, _ = run(capsys, "video", source, "-o", tmp_path / "exact.webm", "--lossless", "--method", "dis")
    assert code == 0 and summary["video"] == "VP9 lossless, 4:4:4"
    code, _, err = run(capsys, "video", source, "-o", tmp_path / "bad.mp4", "--crf", 60, "--method", "dis")
    assert code == 2 and err.strip().splitlines() == ["error: --crf 60: expected 0 to 51 for .mp4 (H.264; lower is better)."]
    assert not (tmp_path / "bad.mp4").exists()


def test_side_by_side_shows_the_nearest_input_frame_beside_the_output(tmp_path, capsys):
    source = pattern(tmp_path / "clip.mp4", size="96x64", rate=5)
    code, summary, _ = run(capsys, "video", source, "-o", tmp_path / "both", "--side-by-side", "--method", "dis")
    assert code == 0 and summary["output_frames"] == 10
    frames = video_io.read_video(source)[0]
    written = sorted((tmp_path / "both").iterdir())
    from utils.media import image_io

    for k in (0, 1, 2, 9):  # output k at k/10 s: input frame round(k / 2) (the last frames hold the last input)
        both = image_io.read_image(written[k])
        assert both.shape == (64, 192, 3)
        left = both[40:, :96].astype(int)  # below the label
        assert np.abs(left - frames[min((k + 1) // 2, 4)][40:]).mean() < 1, k


def test_the_scene_threshold_can_be_set_or_turned_off(tmp_path, capsys):
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:size=64x48:rate=10", "-t", 0.5, "-pix_fmt", "yuv420p", first)
    ffmpeg("-f", "lavfi", "-i", "color=c=blue:size=64x48:rate=10", "-t", 0.5, "-pix_fmt", "yuv420p", second)
    joined = tmp_path / "cut.mp4"
    ffmpeg("-i", first, "-i", second, "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-pix_fmt",
           "yuv420p", joined)
    assert run(capsys, "video", joined, "-o", tmp_path / "o1.mp4", "--method", "average")[1]["scene_cuts"] == [4]
    assert run(capsys, "video", joined, "-o", tmp_path / "o2.mp4", "--method", "average",
               "--scene-threshold", "off")[1]["scene_cuts"] == []
    code, _, err = run(capsys, "video", joined, "-o", tmp_path / "o3.mp4", "--scene-threshold", "2")
    assert code == 2 and "--scene-threshold: expected off or a number in (0, 1], got 2" in err


def moving_dot(position: int) -> np.ndarray:
    frame = np.full((32, 64, 3), 60, np.uint8)
    frame[12:20, position:position + 8] = 230
    return frame


def test_repeated_frames_are_interpolated_across_up_to_a_hold_of_four():
    on_twos = [moving_dot(8 * (i // 2)) for i in range(8)]  # animation on twos: each drawing shown twice
    average = interpolator.BASELINES["average"]
    skipped = []
    out = list(retime.retime_frames(average, iter(on_twos), 10, 10, repeats=True, on_repeat=skipped.append))
    assert skipped == [1, 3, 5, 7] and len(out) == 8
    assert not np.array_equal(out[1], out[0])  # the held frame becomes the in-between
    kept = list(retime.retime_frames(average, iter(on_twos), 10, 10))
    assert np.array_equal(kept[1], kept[0])
    still = [moving_dot(8)] * 6 + [moving_dot(16)]  # a still of six frames stays a still
    out = list(retime.retime_frames(average, iter(still), 10, 10, repeats=True))
    assert all(np.array_equal(frame, still[0]) for frame in out[:6])
    assert retime.is_repeat(moving_dot(8), np.clip(moving_dot(8).astype(int) + 1, 0, 255).astype(np.uint8))
    assert not retime.is_repeat(moving_dot(8), moving_dot(9))  # one small thing moved by a pixel


def test_the_command_reports_repeats_and_can_keep_them(tmp_path, capsys):
    folder = tmp_path / "twos"
    folder.mkdir()
    from utils.media import image_io

    for i in range(8):
        image_io.write_image(folder / f"{i:03d}.png", moving_dot(8 * (i // 2)))
    code, summary, _ = run(capsys, "video", folder, "-o", tmp_path / "out", "--method", "dis")
    assert code == 0 and summary["repeated_frames"] == [1, 3, 5, 7]
    code, summary, _ = run(capsys, "video", folder, "-o", tmp_path / "kept", "--method", "dis", "--keep-repeats")
    assert code == 0 and summary["repeated_frames"] == []


def test_progress_shows_the_time_left_and_a_summary_line(tmp_path, capsys):
    source = pattern(tmp_path / "clip.mp4")
    code, summary, err = run(capsys, "video", source, "-o", tmp_path / "out.mp4", "--method", "dis")
    assert code == 0 and re.search(r"\d\d:\d\d<\d\d:\d\d", err)  # tqdm's elapsed<remaining
    line = convert.human_summary(summary)
    assert line in err and line.startswith(f"{summary['input']} (10 frames, 10 fps, 1.00 s) -> ")
    assert "(20 frames, 20 fps, 1.00 s)" in line and "video H.264 CRF 18, 4:2:0" in line
    code, _, err = run(capsys, "video", source, "-o", tmp_path / "quiet.mp4", "--method", "dis", "--quiet")
    assert code == 0 and err == ""


@pytest.mark.parametrize("value, message", [("0", "expected auto or a number in (0, 1], got 0"),
                                            ("big", "expected auto or a number in (0, 1], got big")])
def test_bad_scale_is_refused(value, message, tmp_path, capsys):
    code, _, err = run(capsys, "video", pattern(tmp_path / "c.mp4"), "-o", tmp_path / "o.mp4", "--scale", value)
    assert code == 2 and message in err


def test_a_reduced_scale_needs_a_flow_network(tmp_path, capsys):
    from utils.models import unet

    checkpoint = tmp_path / "plain.keras"
    unet.build_unet(4, 2, "residual").save(checkpoint)
    code, _, err = run(capsys, "video", pattern(tmp_path / "c.mp4"), "-o", tmp_path / "o.mp4", "--checkpoint",
                       checkpoint, "--scale", "0.5")
    assert code == 2 and err.strip().splitlines()[-1] == ("error: UNet plain has no flows: --scale below 1 needs a "
                                                          "flow UNet (use --scale 1).")
    code, summary, _ = run(capsys, "video", tmp_path / "c.mp4", "-o", tmp_path / "o2.mp4", "--checkpoint", checkpoint)
    assert code == 0  # auto keeps such a network whole


def test_the_time_model_runs_at_half_scale_through_the_command(tmp_path, capsys):
    source = pattern(tmp_path / "c.mp4", size="128x96", seconds=0.5)
    code, summary, _ = run(capsys, "video", source, "-o", tmp_path / "half.mp4", "--scale", "0.5",
                           "--precision", "bfloat16", "--quiet")
    assert code == 0 and summary["output_frames"] == 10


def test_output_count_follows_the_times():
    source = video_io.Source(video_io.Path("x.mp4"), "video", 18.0, (64, 48), 36, times=[i / 18 for i in range(36)],
                             end=2.0)
    assert convert.output_count(source, 30) == 60
    assert Fraction(video_io.rate_text(18.0)) == 18


def test_the_ensemble_option_reaches_the_model_and_is_refused_where_it_cannot_apply(tmp_path, capsys):
    source = pattern(tmp_path / "c.mp4", size="64x48", seconds=0.3)
    frames = list(video_io.read_source(video_io.open_source(source)))
    code, _, _ = run(capsys, "video", source, "-o", tmp_path / "one", "--ensemble", "1", "--quiet")
    assert code == 0
    code, _, _ = run(capsys, "video", source, "-o", tmp_path / "auto", "--quiet")  # 64x48 is small: four views
    assert code == 0
    four = interpolator.load_method(scale="auto", precision="auto", ensemble=4)
    expected = interpolator.frames_between(four, frames[0], frames[1], [0.5])[0.5]
    assert np.abs(image_io.read_image(tmp_path / "auto" / "000001.png").astype(int) - expected).max() <= 1
    assert not np.array_equal(image_io.read_image(tmp_path / "one" / "000001.png"),
                              image_io.read_image(tmp_path / "auto" / "000001.png"))
    code, _, err = run(capsys, "video", source, "-o", tmp_path / "dis.mp4", "--method", "dis", "--ensemble", "2")
    assert code == 2 and err.strip().splitlines()[-1] == "error: --ensemble 2 applies to the model, not to --method dis."
    code, _, err = run(capsys, "video", source, "-o", tmp_path / "three.mp4", "--ensemble", "3")
    assert code == 2 and "--ensemble: invalid choice: '3'" in err
