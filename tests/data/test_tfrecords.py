"""TFRecord shards: the same batches as the PNG-folder reader, prior flows stored once, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from utils import flow
from utils.data import tfrecords, vimeo


@pytest.fixture
def train_ids(vimeo_root):
    return vimeo.read_triplet_list(vimeo_root, "train")


@pytest.mark.parametrize("encoding", tfrecords.ENCODINGS)
def test_shards_give_the_same_batches_as_png_folders(vimeo_root, train_ids, tmp_path, encoding):
    index = tfrecords.write_tfrecords([(vimeo_root, train_ids)], tmp_path / encoding, shards=1, encoding=encoding)
    from_records = list(tfrecords.tfrecord_dataset(index, batch_size=2, training=False))
    from_folders = list(vimeo.make_dataset([(vimeo_root, train_ids)], batch_size=2, training=False))
    assert len(from_records) == len(from_folders) == 3
    for (inputs_a, target_a), (inputs_b, target_b) in zip(from_records, from_folders):
        np.testing.assert_array_equal(inputs_a.numpy(), inputs_b.numpy())
        np.testing.assert_array_equal(target_a.numpy(), target_b.numpy())


def test_index_describes_the_shards_and_every_triplet_is_written_once(vimeo_root, train_ids, tmp_path):
    index_path = tfrecords.write_tfrecords([(vimeo_root, train_ids)], tmp_path / "records", shards=4)
    index = json.loads(index_path.read_text())
    assert index["count"] == 6 and sum(index["counts"]) == 6 and len(index["shards"]) == 4
    assert sorted(p.name for p in (tmp_path / "records").iterdir()) == [
        "index.json", *[f"shard-{k:05d}-of-00004.tfrecord" for k in range(4)]]
    targets = [t.numpy() for _, t in tfrecords.tfrecord_dataset(index_path, batch_size=1, training=False)]
    expected = [vimeo.load_triplet(vimeo_root, i)[1] for i in train_ids]
    assert sorted(int(t.sum() * 255 + 0.5) for t in targets) == sorted(int(e.astype(np.int64).sum()) for e in expected)


def test_prior_flows_are_stored_once_and_follow_the_crops(vimeo_root, train_ids, tmp_path):
    index = tfrecords.write_tfrecords([(vimeo_root, train_ids[:2])], tmp_path / "flows", shards=1, flow_prior=True)
    inputs, _ = next(iter(tfrecords.tfrecord_dataset(index, batch_size=1, training=False)))
    frame1, _, frame3 = vimeo.load_triplet(vimeo_root, train_ids[0])
    np.testing.assert_allclose(inputs[0, ..., 6:].numpy(), flow.flow_prior(frame1, frame3), atol=0.02, rtol=1e-3)
    dataset = tfrecords.tfrecord_dataset(index, batch_size=4, crop_size=(32, 40), seed=0)
    batch, target = next(iter(dataset))
    assert batch.shape == (4, 32, 40, 10) and target.shape == (4, 32, 40, 3) and batch.dtype == tf.float32
    assert dataset.options().autotune.enabled is False


def test_bad_requests_get_clear_errors(vimeo_root, train_ids, tmp_path):
    with pytest.raises(ValueError, match="Unknown encoding 'jpeg'"):
        tfrecords.write_tfrecords([(vimeo_root, train_ids)], tmp_path / "x", encoding="jpeg")
    with pytest.raises(ValueError, match="no triplets"):
        tfrecords.write_tfrecords([(vimeo_root, [])], tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="TFRecord index not found"):
        tfrecords.tfrecord_dataset(tmp_path / "nowhere", batch_size=1, training=False)
    index = tfrecords.write_tfrecords([(vimeo_root, train_ids)], tmp_path / "plain", shards=2)
    with pytest.raises(ValueError, match="hold no prior flows"):
        tfrecords.tfrecord_dataset(index, batch_size=1, crop_size=(16, 16), flow_prior=True)
    (tmp_path / "plain" / "shard-00001-of-00002.tfrecord").unlink()
    with pytest.raises(FileNotFoundError, match="shard-00001-of-00002.tfrecord"):
        tfrecords.tfrecord_dataset(index, batch_size=1, training=False)


def test_command_line_writes_a_split(vimeo_root, tmp_path, capsys):
    assert tfrecords.main(["--data-root", str(vimeo_root), "--split", "test", "--output", str(tmp_path / "test"),
                           "--encoding", "raw", "--shards", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["triplets"] == 2
    assert tfrecords.read_index(tmp_path / "test")["encoding"] == "raw"
    assert tfrecords.main(["--data-root", str(tmp_path / "missing"), "--output", str(tmp_path / "o")]) == 2
    assert "missing" in capsys.readouterr().err
