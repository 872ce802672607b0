"""The Vimeo90K reader, image I/O and the tf.data pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from utils.data import synthetic, vimeo
from utils.media import image_io
from utils.training import fitting


def test_reads_lists_and_triplets(vimeo_root):
    train = vimeo.read_triplet_list(vimeo_root, "train")
    test = vimeo.read_triplet_list(vimeo_root, "test")
    assert train[0] == "00001/0001" and len(train) == 6
    assert test == ["00002/0001", "00002/0002"]
    frames = vimeo.load_triplet(vimeo_root, test[1])
    assert [f.shape for f in frames] == [(48, 64, 3)] * 3
    assert all(f.dtype == np.uint8 for f in frames)


def test_explicit_list_file(vimeo_root, tmp_path):
    listing = tmp_path / "mine.txt"
    listing.write_text("00001/0003\n\n00002/0001\n")
    assert vimeo.read_triplet_list(vimeo_root, list_path=listing) == ["00001/0003", "00002/0001"]


def test_missing_root_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.*Vimeo90K triplet layout"):
        vimeo.read_triplet_list(tmp_path / "nowhere")


def test_missing_list_file_names_it(vimeo_root):
    (vimeo_root / "tri_testlist.txt").unlink()
    with pytest.raises(FileNotFoundError, match="tri_testlist.txt"):
        vimeo.read_triplet_list(vimeo_root, "test")


def test_empty_list_is_refused(vimeo_root):
    (vimeo_root / "tri_trainlist.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="tri_trainlist.txt is empty"):
        vimeo.read_triplet_list(vimeo_root, "train")


def test_listed_folder_missing(vimeo_root):
    (vimeo_root / "tri_trainlist.txt").write_text("00001/0001\n00009/0001\n")
    with pytest.raises(FileNotFoundError, match="00009/0001"):
        vimeo.read_triplet_list(vimeo_root, "train")


def test_unknown_split(vimeo_root):
    with pytest.raises(ValueError, match="'val'.*'train' or 'test'"):
        vimeo.read_triplet_list(vimeo_root, "val")


def test_frames_of_different_sizes(vimeo_root):
    image_io.write_image(vimeo_root / "sequences/00001/0002/im3.png", np.zeros((40, 64, 3), np.uint8))
    with pytest.raises(ValueError, match=r"00001/0002.*different sizes.*im3.png 64x40"):
        vimeo.load_triplet(vimeo_root, "00001/0002")


def test_corrupt_image_names_the_file(vimeo_root):
    broken = vimeo_root / "sequences/00001/0001/im2.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ValueError, match="im2.png"):
        vimeo.load_triplet(vimeo_root, "00001/0001")


def test_missing_frame(vimeo_root):
    (vimeo_root / "sequences/00001/0001/im1.png").unlink()
    with pytest.raises(FileNotFoundError, match="im1.png"):
        vimeo.load_triplet(vimeo_root, "00001/0001")


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_grayscale_and_rgba_become_rgb(tmp_path, mode):
    path = tmp_path / f"image_{mode}.png"
    Image.new(mode, (5, 4), 7).save(path)
    image = image_io.read_image(path)
    assert image.shape == (4, 5, 3) and image.dtype == np.uint8


def test_write_image_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "frame.png"
    image_io.write_image(path, np.full((4, 4, 3), 9, np.uint8))
    original = path.read_bytes()

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        image_io.write_image(path, np.zeros((4, 4, 3), np.uint8))
    assert path.read_bytes() == original  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["frame.png"]  # no temporary left behind


def test_float_images_round_trip(tmp_path):
    image = np.linspace(0, 1, 4 * 6 * 3, dtype=np.float32).reshape(4, 6, 3)
    path = image_io.write_image(tmp_path / "f.png", image)
    assert np.abs(image_io.to_float(image_io.read_image(path)) - image).max() <= 0.5 / 255 + 1e-6


def test_training_dataset_shapes(vimeo_root):
    sources = [(vimeo_root, vimeo.read_triplet_list(vimeo_root, "train"))]
    dataset = vimeo.make_dataset(sources, batch_size=4, crop_size=(32, 40), seed=0)
    inputs, target = next(iter(dataset))
    assert inputs.shape == (4, 32, 40, 6) and target.shape == (4, 32, 40, 3)
    assert inputs.dtype == tf.float32 and 0.0 <= float(tf.reduce_min(inputs)) <= float(tf.reduce_max(inputs)) <= 1.0


def test_augmentation_keeps_the_triplet_consistent():
    # Frames are a horizontal ramp shifted by +1 and +2: any crop/flip/reversal must keep
    # the middle frame the exact average of the outer two, and the crop aligned across frames.
    ramp = np.tile(np.arange(40, dtype=np.uint8)[None, :, None], (30, 1, 3)) * 3
    frames = tf.constant(np.stack([ramp, ramp + 1, ramp + 2]))
    for _ in range(20):
        crop = tf.cast(vimeo.augment_triplet(frames, (16, 16)), tf.float32).numpy()
        assert crop.shape == (3, 16, 16, 3)
        np.testing.assert_array_equal(crop[1], 0.5 * (crop[0] + crop[2]))
        assert abs(crop[2] - crop[0]).max() == 2


def test_temporal_reversal_happens():
    frames = tf.constant(np.stack([np.zeros((8, 8, 3)), np.ones((8, 8, 3)), 2 * np.ones((8, 8, 3))]).astype(np.uint8))
    firsts = {int(vimeo.augment_triplet(frames, (8, 8))[0, 0, 0, 0]) for _ in range(40)}
    assert firsts == {0, 2}


def test_float16_flows_follow_flips_in_their_own_dtype():
    """The TFRecord reader keeps stored priors in float16 until batching: the flips must work in that dtype."""
    frames = tf.zeros((3, 8, 8, 3), tf.uint8)
    flows = tf.constant(np.tile([1.0, 2.0, 3.0, 4.0], (8, 8, 1)), tf.float16)
    seen = set()
    for _ in range(40):
        _, cropped = vimeo.augment_triplet(frames, (8, 8), flows)
        assert cropped.dtype == tf.float16
        seen.add(tuple(cropped[0, 0].numpy().tolist()))
    # horizontal flip negates u, vertical flip v, reversal swaps the two flows: all 8 combinations appear
    assert len(seen) == 8 and all(sorted(map(abs, values)) == [1, 2, 3, 4] for values in seen)
    inputs, _ = vimeo.split_inputs(tf.zeros((1, 3, 8, 8, 3), tf.uint8), tf.cast(flows, tf.float16)[None])
    assert inputs.dtype == tf.float32


def test_pipelines_run_without_the_autotune_thread(vimeo_root):
    sources = [(vimeo_root, vimeo.read_triplet_list(vimeo_root, "train"))]
    assert vimeo.make_dataset(sources, 2, (16, 16)).options().autotune.enabled is False
    assert vimeo.make_dataset(sources, 2, (16, 16), autotune=True).options().autotune.enabled is True
    validation = vimeo.make_dataset([(vimeo_root, vimeo.read_triplet_list(vimeo_root, "test"))], 2, training=False)
    assert validation.options().autotune.enabled is False


def test_validation_dataset_keeps_whole_frames(vimeo_root):
    dataset = vimeo.make_dataset([(vimeo_root, vimeo.read_triplet_list(vimeo_root, "test"))], 2, training=False)
    batches = list(dataset)
    assert len(batches) == 1 and batches[0][0].shape == (2, 48, 64, 6)


def test_dataset_refuses_empty_sources(vimeo_root):
    with pytest.raises(ValueError, match="no triplets"):
        vimeo.make_dataset([(vimeo_root, [])], 2, (16, 16))
    with pytest.raises(ValueError, match="crop_size"):
        vimeo.make_dataset([(vimeo_root, ["00001/0001"])], 2, None, training=True)


def test_training_on_mixed_frame_sizes_smaller_than_the_crop(tmp_path):
    """The `full` profile's crop is larger than some sources (carphone 176x144): they are scaled up, never fail."""

    rng = np.random.default_rng(0)
    sources = []
    for index, size in enumerate([(40, 56), (64, 96), (24, 100)]):  # one smaller than the crop in each direction
        root = tmp_path / f"source{index}"
        ids = [f"00001/{k:04d}" for k in range(1, 3)]
        for triplet_id in ids:
            vimeo.write_triplet(root, triplet_id, synthetic.make_triplet(rng, size))
        sources.append((root, ids))
    for flow_prior in (False, True):
        dataset = vimeo.make_dataset(sources, batch_size=3, crop_size=(48, 64), flow_prior=flow_prior, seed=0)
        inputs, target = next(iter(dataset))
        assert inputs.shape == (3, 48, 64, 10 if flow_prior else 6) and target.shape == (3, 48, 64, 3)
        network = fitting.build_and_compile("charbonnier", 4, 2, 1e-3, "flow" if flow_prior else "residual")
        history = network.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])


def test_cover_crop_scales_flows_with_the_frames():
    import tensorflow as tf

    frames = tf.zeros((3, 20, 30, 3), tf.uint8)
    flows = tf.ones((20, 30, 4))
    scaled, scaled_flows = vimeo.cover_crop(frames, (40, 45), flows)
    assert tuple(scaled.shape) == (3, 40, 60, 3) and scaled.dtype == tf.uint8
    np.testing.assert_allclose(scaled_flows.numpy()[5, 5], [2.0, 2.0, 2.0, 2.0], rtol=1e-5)
    same, same_flows = vimeo.cover_crop(frames, (10, 10), flows)
    assert tuple(same.shape) == (3, 20, 30, 3) and same_flows is flows or np.allclose(same_flows, 1.0)
