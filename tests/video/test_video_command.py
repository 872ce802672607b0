"""`python -m utils.video.interpolate`: tiling, times, any frame rate, containers, and bad input."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from utils import flow
from utils.media import image_io, video_io
from utils.models import baselines, interpolator, tiling, unet
from utils.video import interpolate, retime


def ffmpeg(*arguments):
    subprocess.run([video_io.ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", *map(str, arguments)],
                   check=True)


def video_info(path):
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    return meta, frames, seconds


def audio_packets(path):
    """Checksums of the audio packets: equal lists mean the stream was copied bit for bit."""
    result = subprocess.run([video_io.ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-i", str(path),
                             "-map", "0:a", "-c", "copy", "-f", "framemd5", "-"], capture_output=True, check=True)
    return [line.split(",")[-1].strip() for line in result.stdout.decode().splitlines() if not line.startswith("#")]


def clip(path, size="96x64", rate=10, seconds=3.0, pixel_format="yuv420p"):
    """An H.264 clip of ffmpeg's moving test pattern with a 440 Hz AAC track."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}", "-f", "lavfi", "-i", "sine=frequency=440",
           "-t", seconds, "-c:v", "libx264", "-pix_fmt", pixel_format, "-c:a", "aac", path)
    return path


@pytest.fixture
def clip_with_audio(tmp_path):
    """A 3-second 10 fps clip with a moving pattern and a 440 Hz AAC track."""
    return clip(tmp_path / "clip.mp4")


@pytest.fixture
def flow_checkpoint(tmp_path):
    path = tmp_path / "flow_tiny.keras"
    unet.build_unet(4, 2, "flow").save(path)
    return path


def moving_square(shift, size=(48, 64)):
    frame = np.full((*size, 3), 30, np.uint8)
    frame[16:32, 10 + shift:26 + shift] = (250, 120, 20)
    return frame


# ----------------------------------------------------------------------------
# Tiles
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("length,tile,overlap,align", [(100, 128, 16, 1), (1000, 512, 64, 1), (3840, 1024, 64, 16),
                                                        (129, 64, 8, 8), (2160, 1024, 64, 32)])
def test_tiles_cover_the_frame_with_the_overlap(length, tile, overlap, align):
    spans = tiling.tile_spans(length, tile, overlap, align)
    assert spans[0][0] == 0 and spans[-1][1] == length
    for (_, stop), (start, _) in zip(spans, spans[1:]):
        assert stop - start >= overlap  # neighbours share at least `overlap` pixels
    assert all(start % align == 0 and stop - start < tile + align for start, stop in spans)


def test_tiled_matches_whole_frame_inference():
    rng = np.random.default_rng(0)
    inputs = rng.random((100, 150, 6), dtype=np.float32)
    pointwise = tiling.tiled(lambda x: x[..., :3] * 2.0, inputs, tile=64, overlap=16)
    np.testing.assert_allclose(pointwise, inputs[..., :3] * 2.0, rtol=1e-6)  # the ramps sum to one
    network = unet.build_unet(4, 2, "direct")  # random weights: a 3x3-convolution receptive field
    run = lambda x: np.asarray(network(x[None], training=False))[0]  # noqa: E731
    whole = run(inputs)
    error = {(overlap, align): np.abs(tiling.tiled(run, inputs, 64, overlap, align) - whole).max()
             for overlap, align in ((24, 2), (2, 2), (24, 1))}
    assert error[24, 2] < 0.05 * np.ptp(whole), error  # tiles on the pooling grid, wide overlap: near seamless
    assert error[2, 2] > 3 * error[24, 2], error  # narrow overlaps show the seams
    assert error[24, 1] > 3 * error[24, 2], error  # tiles off the pooling grid compute other features


def test_model_method_tiles_large_frames_like_the_whole_frame(flow_checkpoint):

    model = interpolator.load_model(flow_checkpoint)
    frame_a, frame_b = moving_square(0, (96, 160)), moving_square(4, (96, 160))
    whole = interpolator.model_method(model, tile=1024)(frame_a, frame_b)
    tiled = interpolator.model_method(model, tile=64, overlap=24)(frame_a, frame_b)
    assert np.abs(whole - tiled).max() < 2 / 255


# ----------------------------------------------------------------------------
# Midpoints and up-conversion
# ----------------------------------------------------------------------------
def test_recursive_midpoints_reach_quarter_times_with_three_calls():
    calls = []

    def average(a, b):
        calls.append(1)
        return baselines.frame_average(a, b)

    black, white = np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)
    frames = interpolator.frames_between(average, black, white, [0.25, 0.5, 0.75])
    assert len(calls) == 3
    assert [int(frames[t][0, 0, 0]) for t in (0.25, 0.5, 0.75)] == [64, 128, 192]


@pytest.mark.parametrize("times", [[0.0], [1.0], [0.5, 1.5], [-0.2]])
def test_times_outside_the_interval_are_refused(times):
    with pytest.raises(video_io.InputError, match="strictly between 0 and 1"):
        interpolator.check_times(times)


def test_any_time_exact_for_dis_and_averaging_nearest_sixty_fourth_for_a_midpoint_network():
    black, white = np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)
    timed = interpolator.BASELINES["average"]
    assert int(interpolator.frames_between(timed, black, white, [0.3])[0.3][0, 0, 0]) == int(0.3 * 255 + 0.5)
    midpoint_only = interpolator.frames_between(baselines.frame_average, black, white, [0.3])
    assert interpolator.midpoint_time(0.3) == 19 / 64
    assert abs(int(midpoint_only[0.3][0, 0, 0]) - 19 / 64 * 255) <= 3  # six rounded midpoints


def test_time_model_computes_any_time_directly_with_one_flow_per_pair(tmp_path, monkeypatch):

    path = tmp_path / "time_tiny.keras"
    unet.build_flow_unet(4, 2, flow_update=False, time_input=True).save(path)
    method = interpolator.load_method(path)
    assert method.at_time is not None
    assert interpolator.load_method(_tiny_flow(tmp_path)).at_time is None
    calls = []
    real = flow.dis_flows
    monkeypatch.setattr(flow, "dis_flows", lambda a, b, **options: calls.append(1) or real(a, b, **options))
    first, last = moving_square(0), moving_square(8)
    frames = interpolator.frames_between(method, first, last, [0.25, 0.3, 0.75])
    assert len(calls) == 1  # one DIS pair for the three times (a midpoint network would need 3 to 7 calls)
    for t, frame in frames.items():  # untrained, the time model is DIS at exactly t (not the nearest 1/64)
        np.testing.assert_allclose(frame / 255.0, baselines.dis_interpolate(first, last, t), atol=3 / 255)
    np.testing.assert_allclose(method(first, last), baselines.dis_interpolate(first, last), atol=2e-3)


def _tiny_flow(tmp_path):
    path = tmp_path / "flow_tiny_10.keras"
    unet.build_unet(4, 2, "flow").save(path)
    return path


@pytest.mark.parametrize("factor", [2, 3, 4, 8])
def test_upsampling_keeps_the_duration(factor):
    frames = [moving_square(2 * k) for k in range(5)]
    output = list(retime.upsample_frames(baselines.frame_average, iter(frames), factor))
    assert len(output) == factor * len(frames)
    for k, frame in enumerate(frames):
        np.testing.assert_array_equal(output[factor * k], frame)
    np.testing.assert_array_equal(output[-1], frames[-1])


def test_scene_cuts_repeat_the_nearer_frame_instead_of_blending():
    red, blue = np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)
    red[..., 0], blue[..., 2] = 220, 220
    cuts = []
    output = list(retime.upsample_frames(baselines.frame_average, iter([red, red, blue]), 4, on_cut=cuts.append))
    assert cuts == [1]
    np.testing.assert_array_equal(output[5], red)   # t = 0.25 after frame 1: the earlier shot
    np.testing.assert_array_equal(output[6], blue)  # t = 0.5 and later: the next shot
    np.testing.assert_array_equal(output[7], blue)


def test_frames_of_different_sizes_are_refused():
    with pytest.raises(video_io.InputError, match="frame 1 is 40x30"):
        list(retime.upsample_frames(baselines.frame_average,
                                         iter([moving_square(0), np.zeros((30, 40, 3), np.uint8)]), 2))


def test_minterpolate_video_keeps_the_input_frames_in_place():
    frames = [moving_square(2 * k) for k in range(4)]
    output = baselines.minterpolate_video(frames, 2)
    assert len(output) == 8
    for k, frame in enumerate(frames):
        assert np.abs(output[2 * k].astype(int) - frame).max() <= 3  # YUV round trip only


def test_drop_and_rebuild_scores_the_dropped_frames():
    frames = [moving_square(k) for k in range(7)]
    result = retime.drop_and_rebuild(frames, {
        "average": lambda kept: list(retime.upsample_frames(baselines.frame_average, iter(kept), 2)),
        "minterpolate": lambda kept: baselines.minterpolate_video(kept, 2)})
    assert result["frames"] == [1, 3, 5]
    for scores in result["methods"].values():
        assert len(scores["psnr"]) == 3 and len(scores["rebuilt"]) == 3
    # Motion-compensated interpolation places the square; blending ghosts it.
    assert np.mean(result["methods"]["minterpolate"]["psnr"]) > np.mean(result["methods"]["average"]["psnr"]) + 3


# ----------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------
def test_video_doubles_the_rate_keeps_duration_and_copies_audio(clip_with_audio, flow_checkpoint, tmp_path, capsys):
    output = tmp_path / "out" / "clip_20fps.mp4"
    assert interpolate.main(["video", str(clip_with_audio), "-o", str(output), "--factor", "2",
                             "--checkpoint", str(flow_checkpoint), "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["input_frames"] == 30 and summary["output_frames"] == 60 and summary["audio"] == "copied"
    meta, frames, seconds = video_info(output)
    assert meta["fps"] == 20 and frames == 60 and seconds == pytest.approx(3.0, abs=0.05)
    assert meta["audio_codec"] == "aac"
    assert audio_packets(output) == audio_packets(clip_with_audio)
    assert sorted(p.name for p in output.parent.iterdir()) == ["clip_20fps.mp4"]  # no temporary left


def test_folder_of_frames_in_and_out_with_gray_and_rgba(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for k in range(3):
        rgb = moving_square(3 * k)
        image = Image.fromarray(rgb).convert("L" if k == 1 else "RGBA")
        image.save(folder / f"f{k + 8}.png")  # f8, f9, f10: natural order, not f10 first
    output = tmp_path / "frames_x4"
    assert interpolate.main(["video", str(folder), "-o", str(output), "--factor", "4", "--method", "dis",
                             "--input-fps", "25", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["output_frames"] == 12 and summary["output_fps"] == 100
    written = sorted(output.iterdir())
    assert [p.name for p in written[:2]] == ["000000.png", "000001.png"] and len(written) == 12
    np.testing.assert_array_equal(image_io.read_image(written[0]), moving_square(0))


def test_pair_writes_the_middle_and_several_times(tmp_path, flow_checkpoint, capsys):
    frame_a, frame_b = tmp_path / "a.png", tmp_path / "b.png"
    image_io.write_image(frame_a, moving_square(0))
    image_io.write_image(frame_b, moving_square(8))
    middle = tmp_path / "middle.png"
    assert interpolate.main(["pair", str(frame_a), str(frame_b), "-o", str(middle),
                             "--checkpoint", str(flow_checkpoint)]) == 0
    assert image_io.read_image(middle).shape == (48, 64, 3)
    assert interpolate.main(["pair", str(frame_a), str(frame_b), "-o", str(tmp_path / "times"), "--times", "0.25",
                             "0.75", "--method", "dis"]) == 0
    assert sorted(p.name for p in (tmp_path / "times").iterdir()) == ["frame_t0.250.png", "frame_t0.750.png"]
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["times"] == [0.25, 0.75]


def _error(capsys, arguments):
    try:
        code = interpolate.main(arguments)
    except SystemExit as stop:  # argparse: a bad value refused before any work
        code = stop.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case,message", [
    ("missing", "Input not found"),
    ("not a video", "Cannot read"),
    ("one frame", "has 1 frame(s)"),
    ("factor", "argument --factor: expected a whole number of at least 2, got 1"),
    ("suffix", "unknown video suffix '.xyz'"),
    ("same path", "is the input"),
    ("exists", "exists: choose another path or pass --overwrite"),
])
def test_bad_video_input_gets_a_clear_error(case, message, tmp_path, capsys):
    source = tmp_path / "input.mp4"
    output = tmp_path / "output.mp4"
    factor = "2"
    if case == "not a video":
        source.write_text("this is not a video")
    elif case == "one frame":
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-frames:v", "1", "-pix_fmt", "yuv420p", source)
    elif case != "missing":
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "0.5", "-pix_fmt", "yuv420p", source)
    if case == "factor":
        factor = "1"
    if case == "suffix":
        output = tmp_path / "output.xyz"
    if case == "same path":
        output = source
    if case == "exists":
        output.write_bytes(b"the user's own file")
    code, error = _error(capsys, ["video", str(source), "-o", str(output), "--factor", factor, "--method", "average"])
    assert code == 2 and message in error, error
    named = {"exists": output, "factor": "--factor", "suffix": output}.get(case, source)
    assert str(named) in error, error
    if case == "exists":
        assert output.read_bytes() == b"the user's own file"


def test_overwrite_replaces_an_existing_output(tmp_path, capsys):
    source = tmp_path / "input.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "0.5", "-pix_fmt", "yuv420p", source)
    output = tmp_path / "output.mp4"
    output.write_bytes(b"old")
    assert interpolate.main(["video", str(source), "-o", str(output), "--method", "average", "--overwrite",
                             "--quiet"]) == 0
    assert video_info(output)[1] == 10


def test_pairs_of_different_sizes_are_refused_and_gray_rgba_converted(tmp_path, capsys):
    from PIL import Image

    gray, rgba, small = tmp_path / "gray.png", tmp_path / "rgba.png", tmp_path / "small.png"
    Image.fromarray(moving_square(0)).convert("L").save(gray)
    Image.fromarray(moving_square(4)).convert("RGBA").save(rgba)
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(small)
    code, error = _error(capsys, ["pair", str(gray), str(small), "-o", str(tmp_path / "m.png"), "--method", "dis"])
    assert code == 2 and "gray.png is 64x48 but" in error and "small.png is 30x20" in error
    assert interpolate.main(["pair", str(gray), str(rgba), "-o", str(tmp_path / "m.png"), "--method", "dis"]) == 0
    assert image_io.read_image(tmp_path / "m.png").shape == (48, 64, 3)
    code, error = _error(capsys, ["pair", str(gray), str(tmp_path / "nope.png"), "-o", str(tmp_path / "x.png")])
    assert code == 2 and "nope.png" in error
    (tmp_path / "text.png").write_text("not an image")
    code, error = _error(capsys, ["pair", str(gray), str(tmp_path / "text.png"), "-o", str(tmp_path / "x.png")])
    assert code == 2 and "Cannot read image" in error and "text.png" in error


def test_an_interrupted_run_leaves_no_output_and_keeps_the_old_one(clip_with_audio, tmp_path, monkeypatch):
    calls = []

    def interrupted(frame_a, frame_b):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return baselines.frame_average(frame_a, frame_b)

    monkeypatch.setattr(interpolator, "load_method", lambda *args, **kwargs: interrupted)
    output = tmp_path / "result.mp4"
    assert interpolate.main(["video", str(clip_with_audio), "-o", str(output), "--quiet"]) == 130
    assert not output.exists()
    output.write_bytes(b"earlier result")
    calls.clear()
    assert interpolate.main(["video", str(clip_with_audio), "-o", str(output), "--overwrite", "--quiet"]) == 130
    assert output.read_bytes() == b"earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "result.mp4"]  # no temporary left


def test_unknown_container_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("nothing may be read or loaded for an unknown output suffix")

    monkeypatch.setattr(video_io, "open_source", never)
    monkeypatch.setattr(interpolator, "load_method", never)
    code, error = _error(capsys, ["video", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "out.xyz")])
    assert code == 2 and error.count("\n") == 1 and ".mp4, .mov, .mkv, .webm, .gif" in error


@pytest.fixture
def clip_24fps(tmp_path):
    """Two seconds at 24 fps with a moving pattern and a 440 Hz AAC track."""
    return clip(tmp_path / "clip24.mp4", rate=24, seconds=2.0)


def test_24_fps_becomes_60_with_the_same_duration_and_its_audio(clip_24fps, tmp_path, capsys):
    output = tmp_path / "clip60.mp4"
    assert interpolate.main(["video", str(clip_24fps), "-o", str(output), "--fps", "60", "--method", "dis",
                             "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["input_frames"] == 48 and summary["output_frames"] == 120 and summary["audio"] == "copied"
    meta, frames, seconds = video_info(output)
    assert meta["fps"] == 60 and frames == 120
    assert abs(seconds - 2.0) <= 1 / 60 + 1e-6 and meta["audio_codec"].startswith("aac")
    assert audio_packets(output) == audio_packets(clip_24fps)


def test_output_frames_fall_on_input_frames_where_the_times_meet():
    frames = [np.full((8, 8, 3), 20 * k, np.uint8) for k in range(5)]
    method = interpolator.BASELINES["average"]
    up = list(retime.retime_frames(method, iter(frames), 24, 60))  # 2.5 output frames per input frame
    assert len(up) == round(5 * 60 / 24)
    for k in (0, 5, 10):  # times 0, 1/12, 1/6 s are input frames 0, 2, 4
        np.testing.assert_array_equal(up[k], frames[2 * k // 5])
    assert int(up[1][0, 0, 0]) == round(0.4 * 20)  # 1/60 s = 0.4 of the way from frame 0 to frame 1
    down = list(retime.retime_frames(method, iter(frames), 30, 24))  # lowering the rate picks frames
    assert all(any((d == f).all() for f in frames) for d in down) and len(down) == 4


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".webm", ".gif", ""])
def test_every_container_is_written_and_read_back_odd_sizes_padded_to_play(suffix, tmp_path, capsys):
    source = clip(tmp_path / "odd.mp4", size="321x241", seconds=0.6, pixel_format="yuv444p")
    output = tmp_path / f"out{suffix}"
    assert interpolate.main(["video", str(source), "-o", str(output), "--factor", "3", "--method", "average",
                             "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["output_frames"] == 3 * summary["input_frames"] == 18
    if suffix == "":
        frames = sorted(output.iterdir())
        assert len(frames) == 18 and image_io.read_image(frames[0]).shape == (241, 321, 3)
        assert summary["audio"].startswith("dropped")
        return
    meta, count, seconds = video_info(output)
    if suffix == ".gif":  # a GIF keeps the size; video is 4:2:0, which needs even sizes: padded by a pixel
        assert tuple(meta["size"]) == (321, 241) and count == 18
    else:
        assert tuple(meta["size"]) == (322, 242) and count == 18 and meta["pix_fmt"].startswith("yuv420p")
        assert summary["video"].endswith("322x242 (padded from 321x241 by repeating the last column or row: "
                                         "4:2:0 needs even sizes)")
        last_column = video_io.read_video(output)[0][0][:, -2:].astype(int)
        assert np.abs(last_column[:, 0] - last_column[:, 1]).mean() < 4  # the copy of the last column
    if suffix == ".gif":  # GIF delays are whole hundredths of a second: ffmpeg alternates 3 and 4 to keep 30 fps
        assert summary["audio"].startswith("dropped") and abs(seconds - 0.6) <= 0.02
        return
    assert meta["fps"] == 30
    assert summary["audio"] in ("copied", "libopus") and meta.get("audio_codec")
    if suffix == ".webm":
        assert meta["codec"].startswith("vp9") and summary["audio"] == "libopus"
