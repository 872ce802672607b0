"""TFRecord shards of Vimeo-layout triplets: fewer, larger files for data sets that do not fit in memory.

The PNG-folder reader (:func:`utils.data.vimeo.make_dataset`) opens three files per triplet; on a network
disk (Google Drive, a cluster file system) that is what limits training on all of Vimeo90K's 73,171
triplets. The writer packs triplets into a few shards; the reader streams them with parallel
interleave and parallel decode, crops on the fly, and prefetches::

    python -m utils.data.tfrecords --data-root /data/vimeo_triplet --split train --output /data/vimeo_tfrecords

    index = write_tfrecords([(root, ids)], "build/tfrecords/train", shards=8)
    dataset = tfrecord_dataset(index, batch_size=16, crop_size=(128, 128))

Two encodings: ``png`` keeps the PNG files' bytes as they are (no re-encoding; small shards, the
reader decodes) and ``raw`` stores decoded pixels (3-4x larger shards, no decoding). With
``flow_prior`` the DIS prior flows of the flow-guided UNet are computed once, when writing, and stored
as float16, instead of once per triplet in every training run. ``python -m utils.tools.bench`` measures all
of them against what the model consumes.
"""

from __future__ import annotations

import io
from PIL import Image
import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
import numpy as np

from utils import flow, paths
from utils.data import vimeo
from utils.media import image_io

ENCODINGS = ("png", "raw")


INDEX_NAME = "index.json"


def _bytes_feature(value: bytes):
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int_feature(value: int):
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def serialize_triplet(root: str | Path, triplet_id: str, encoding: str = "png", flow_prior: bool = False) -> bytes:
    """One triplet as a serialized ``tf.train.Example`` (frames, size, id, and optionally the prior flows)."""
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    frame_paths = vimeo.triplet_paths(root, triplet_id)
    frames = [image_io.read_image(p) for p in frame_paths]  # also checks that each file is a readable image
    height, width = frames[0].shape[:2]
    if any(f.shape != frames[0].shape for f in frames):
        raise ValueError(f"Triplet {triplet_id} under {root}: the three frames differ in size "
                         f"({', '.join(f'{f.shape[1]}x{f.shape[0]}' for f in frames)}).")
    if encoding == "png":
        encoded = [Path(p).read_bytes() if Path(p).suffix.lower() == ".png" else _png_bytes(f)
                   for p, f in zip(frame_paths, frames)]
    else:
        encoded = [np.ascontiguousarray(f).tobytes() for f in frames]
    feature = {"id": _bytes_feature(triplet_id.encode()), "height": _int_feature(height),
               "width": _int_feature(width)}
    feature.update({f"im{k + 1}": _bytes_feature(b) for k, b in enumerate(encoded)})
    if flow_prior:

        feature["prior"] = _bytes_feature(flow.flow_prior(frames[0], frames[2]).astype(np.float16).tobytes())
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _png_bytes(frame: np.ndarray) -> bytes:


    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def write_tfrecords(sources: Sequence[tuple[str | Path, Sequence[str]]], output_dir: str | Path, shards: int = 8,
                    encoding: str = "png", flow_prior: bool = False, progress: bool = False) -> Path:
    """Writes triplets to ``shards`` TFRecord files and an ``index.json`` describing them.

    Each shard is written under a temporary name and renamed when complete; the index is written
    last, so a folder with an index always holds complete shards.

    Args:
        sources: (data root, triplet ids) pairs, as for :func:`utils.data.vimeo.make_dataset`.
        output_dir: folder for ``shard-00000-of-00008.tfrecord`` ... and ``index.json``.
        shards: number of files (several per reader thread; 8-64 for Vimeo90K).
        encoding: ``png`` (the files' own bytes) or ``raw`` (decoded pixels).
        flow_prior: also store the DIS prior flows (float16) for the flow-guided UNet.
        progress: print a line per shard to stderr.

    Returns:
        The path of ``index.json``.

    Raises:
        ValueError: for an unknown encoding, a bad shard count or no triplets.
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    if encoding not in ENCODINGS:
        raise ValueError(f"Unknown encoding {encoding!r}: expected one of {', '.join(ENCODINGS)}.")
    items = [(Path(root), triplet_id) for root, ids in sources for triplet_id in ids]
    if not items:
        raise ValueError("write_tfrecords got no triplets: every source has an empty id list.")
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}.")
    shards = min(shards, len(items))
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    names = [f"shard-{k:05d}-of-{shards:05d}.tfrecord" for k in range(shards)]
    counts = []
    for k, name in enumerate(names):
        members = items[k::shards]  # round robin: every shard mixes every source
        with paths.atomic_target(output_dir / name) as temporary:
            with tf.io.TFRecordWriter(str(temporary)) as writer:
                for root, triplet_id in members:
                    writer.write(serialize_triplet(root, triplet_id, encoding, flow_prior))
        counts.append(len(members))
        if progress:
            print(f"[{k + 1}/{shards}] {name}: {len(members)} triplets", file=sys.stderr, flush=True)
    index = {"shards": names, "counts": counts, "count": len(items), "encoding": encoding,
             "flow_prior": flow_prior, "sources": [paths.display(root) for root, _ in sources]}
    with paths.atomic_target(output_dir / INDEX_NAME) as temporary:
        temporary.write_text(json.dumps(index, indent=1))
    return output_dir / INDEX_NAME


def read_index(index_path: str | Path) -> dict:
    """Reads ``index.json`` (or the folder holding it) and checks that every shard is there.

    Raises:
        FileNotFoundError: naming the missing index or shard.
    """
    index_path = Path(index_path)
    if index_path.is_dir():
        index_path = index_path / INDEX_NAME
    if not index_path.is_file():
        raise FileNotFoundError(f"TFRecord index not found: {index_path}. Write shards with python -m utils.data.tfrecords first.")
    index = json.loads(index_path.read_text())
    index["paths"] = [str(index_path.parent / name) for name in index["shards"]]
    missing = [p for p in index["paths"] if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"TFRecord shard(s) listed in {index_path} are missing: {', '.join(missing)}")
    return index


def _parse(encoding: str, flow_prior: bool):
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    spec = {"height": tf.io.FixedLenFeature([], tf.int64), "width": tf.io.FixedLenFeature([], tf.int64),
            **{f"im{k}": tf.io.FixedLenFeature([], tf.string) for k in (1, 2, 3)}}
    if flow_prior:
        spec["prior"] = tf.io.FixedLenFeature([], tf.string)

    def parse(record):
        example = tf.io.parse_single_example(record, spec)
        height, width = tf.cast(example["height"], tf.int32), tf.cast(example["width"], tf.int32)
        if encoding == "png":
            frames = [tf.io.decode_png(example[f"im{k}"], channels=3) for k in (1, 2, 3)]
        else:
            frames = [tf.reshape(tf.io.decode_raw(example[f"im{k}"], tf.uint8), [height, width, 3]) for k in (1, 2, 3)]
        frames = tf.stack(frames)
        if not flow_prior:
            return (frames,)
        # Kept in float16 until the batch of crops is split into inputs (data.split_inputs casts): cast here,
        # the whole frame's flows would be converted, not only the crop's.
        prior = tf.reshape(tf.io.decode_raw(example["prior"], tf.float16), [height, width, 4])
        return frames, prior

    return parse


def tfrecord_dataset(index_path: str | Path, batch_size: int, crop_size: tuple[int, int] | None = None,
                     training: bool = True, cache: bool = False, shuffle_buffer: int = 2048, seed: int | None = None,
                     flow_prior: bool | None = None, autotune: bool = False):
    """Streams TFRecord shards into the same ``(inputs, target)`` batches as :func:`utils.data.vimeo.make_dataset`.

    Shards are read by parallel interleave (shuffled shard order for training), records parsed and
    decoded in parallel, then cached (optional), shuffled, cropped and flipped on the fly, batched and
    prefetched.

    Args:
        index_path: ``index.json`` from :func:`write_tfrecords`, or its folder.
        batch_size, crop_size, training, shuffle_buffer, seed: as in :func:`utils.data.vimeo.make_dataset`.
        cache: keep decoded triplets in memory after the first pass (only when they fit).
        flow_prior: add the stored prior flows to the inputs (default: when the shards hold them).
        autotune: tf.data's model-based autotuner, off by default (see :func:`utils.data.vimeo.pipeline_options`).

    Raises:
        ValueError: when ``flow_prior`` is asked of shards written without it.
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    index = read_index(index_path)
    stored = bool(index["flow_prior"])
    flow_prior = stored if flow_prior is None else flow_prior
    if flow_prior and not stored:
        raise ValueError(f"{index_path}: the shards hold no prior flows; write them with flow_prior=True.")
    if training and crop_size is None:
        raise ValueError("tfrecord_dataset(training=True) needs crop_size=(height, width) to batch frames.")
    files = tf.data.Dataset.from_tensor_slices(index["paths"])
    if training:
        files = files.shuffle(len(index["paths"]), seed=seed)
    dataset = files.interleave(tf.data.TFRecordDataset, cycle_length=min(8, len(index["paths"])),
                               num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    dataset = dataset.map(_parse(index["encoding"], flow_prior), num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=not training)
    return vimeo.finish_dataset(dataset, index["count"], batch_size, crop_size, training, cache, shuffle_buffer, seed,
                               autotune)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=paths.program("utils.data.tfrecords"),
                                     description="Write a Vimeo-layout folder's triplets as TFRecord shards.")
    parser.add_argument("--data-root", required=True, help="folder in the Vimeo90K triplet layout")
    parser.add_argument("--split", default="train", choices=("train", "test"), help="which list file (default train)")
    parser.add_argument("--list", help="a list file of triplet ids instead of the split's")
    parser.add_argument("--output", required=True, help="folder for the shards and index.json")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--encoding", default="png", choices=ENCODINGS)
    parser.add_argument("--flow-prior", action="store_true", help="store DIS prior flows (flow-guided UNet)")
    args = parser.parse_args(argv)
    try:
        ids = vimeo.read_triplet_list(args.data_root, args.split, args.list)
        index = write_tfrecords([(args.data_root, ids)], args.output, args.shards, args.encoding, args.flow_prior,
                                progress=True)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"index": str(index), "triplets": len(ids)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
