"""Vimeo90K triplet layout and the ``tf.data`` training pipeline.

The Vimeo90K triplet data set is laid out as::

    ROOT/
      tri_trainlist.txt        one "00001/0001" per line
      tri_testlist.txt
      sequences/00001/0001/im1.png  im2.png  im3.png

``im2`` is the middle frame the network must predict from ``im1`` and ``im3``.
Every data set in this repository (the real clips, the synthetic triplets, a
user's own folder) is written in this same layout, so one reader serves all.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
import numpy as np

from utils import flow, paths
from utils.media import image_io

FRAME_NAMES = ("im1.png", "im2.png", "im3.png")


LIST_FILES = {"train": "tri_trainlist.txt", "test": "tri_testlist.txt"}


def _check_root(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"Data root not found: {root}. Expected a folder in the Vimeo90K triplet layout "
            "(sequences/NNNNN/NNNN/im1.png..im3.png with tri_trainlist.txt and tri_testlist.txt)."
        )
    return root


def list_file(root: str | Path, split: str) -> Path:
    """Returns the list file of ``split`` (``train`` or ``test``) under ``root``."""
    if split not in LIST_FILES:
        raise ValueError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    return Path(root) / LIST_FILES[split]


def read_triplet_list(root: str | Path, split: str = "train", list_path: str | Path | None = None) -> list[str]:
    """Reads the triplet ids ("00001/0001") of a split.

    Args:
        root: data root in the Vimeo90K triplet layout.
        split: ``train`` or ``test``; ignored when ``list_path`` is given.
        list_path: an explicit list file (one id per line).

    Returns:
        The ids, in file order, blank lines skipped.

    Raises:
        FileNotFoundError: if the root, the list file, or a listed sequence folder is missing.
        ValueError: if the list is empty.
    """
    root = _check_root(root)
    path = Path(list_path) if list_path is not None else list_file(root, split)
    if not path.is_file():
        raise FileNotFoundError(f"Triplet list not found: {path}. Expected one 'NNNNN/NNNN' id per line.")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not ids:
        raise ValueError(f"Triplet list {path} is empty: expected one 'NNNNN/NNNN' id per line.")
    missing = [i for i in ids if not (root / "sequences" / i).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} sequence folder(s) listed in {path} are missing under {root / 'sequences'}, "
            f"first: {missing[0]}"
        )
    return ids


def triplet_paths(root: str | Path, triplet_id: str) -> list[Path]:
    """Returns the three frame paths of a triplet."""
    folder = Path(root) / "sequences" / triplet_id
    return [folder / name for name in FRAME_NAMES]


def load_triplet(root: str | Path, triplet_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loads one triplet as three ``uint8`` RGB arrays.

    Raises:
        FileNotFoundError: if a frame is missing.
        ValueError: if a frame is unreadable or the three frames differ in size.
    """
    paths = triplet_paths(root, triplet_id)
    frames = [image_io.read_image(p) for p in paths]
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        sizes = ", ".join(f"{p.name} {f.shape[1]}x{f.shape[0]}" for p, f in zip(paths, frames))
        raise ValueError(f"Triplet {paths[0].parent} has frames of different sizes ({sizes}); expected one size.")
    return frames[0], frames[1], frames[2]


def write_triplet(root: str | Path, triplet_id: str, frames: Sequence[np.ndarray]) -> None:
    """Writes three frames as ``sequences/<triplet_id>/im1.png..im3.png``."""
    if len(frames) != 3:
        raise ValueError(f"Expected 3 frames for triplet {triplet_id}, got {len(frames)}.")
    for path, frame in zip(triplet_paths(root, triplet_id), frames):
        image_io.write_image(path, frame)


def write_triplet_list(root: str | Path, split: str, ids: Iterable[str]) -> Path:
    """Writes a list file atomically and returns its path."""
    path = list_file(root, split)
    with paths.atomic_target(path) as temporary:
        temporary.write_text("".join(f"{i}\n" for i in ids))
    return path


def _decode_triplet(paths):
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    frames = [tf.io.decode_png(tf.io.read_file(paths[i]), channels=3) for i in range(3)]
    return tf.stack(frames)  # (3, H, W, 3) uint8


def _prior_flows(frames):
    """DIS prior flows (H, W, 4) of a decoded (3, H, W, 3) triplet, computed on the whole frames."""
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    flows = tf.numpy_function(lambda f: flow.flow_prior(f[0], f[2]), [frames], tf.float32, stateful=False)
    return frames, tf.ensure_shape(flows, [None, None, 4])


def augment_triplet(frames, crop_size: tuple[int, int], flows=None):
    """Random crop at the same place in the three frames, flips and temporal reversal.

    Args:
        frames: ``uint8`` or float tensor (3, height, width, 3).
        crop_size: (height, width) of the crop; smaller frames are scaled up first (:func:`cover_crop`).
        flows: optional prior flows (height, width, 4) = (``F_t->1``, ``F_t->3``), any float dtype (kept);
            they are cropped with the frames, their components negated by the flips and swapped by the reversal.

    Returns:
        The augmented tensor (3, crop_height, crop_width, 3), or ``(frames, flows)`` when flows are given.
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    frames, flows = cover_crop(frames, crop_size, flows)
    shape = tf.shape(frames)
    top = tf.random.uniform((), 0, shape[1] - crop_size[0] + 1, dtype=tf.int32)
    left = tf.random.uniform((), 0, shape[2] - crop_size[1] + 1, dtype=tf.int32)
    crop = frames[:, top:top + crop_size[0], left:left + crop_size[1], :]
    crop = tf.ensure_shape(crop, (3, crop_size[0], crop_size[1], 3))
    if flows is None:
        flows = tf.zeros((crop_size[0], crop_size[1], 4))
        with_flows = False
    else:
        flows = tf.ensure_shape(flows[top:top + crop_size[0], left:left + crop_size[1], :],
                                (crop_size[0], crop_size[1], 4))
        with_flows = True
    coins = tf.random.uniform((3,)) < 0.5
    horizontal = tf.constant([-1.0, 1.0, -1.0, 1.0], flows.dtype)
    vertical = tf.constant([1.0, -1.0, 1.0, -1.0], flows.dtype)
    crop, flows = tf.cond(coins[0], lambda: (tf.reverse(crop, axis=[2]), tf.reverse(flows, axis=[1]) * horizontal),
                          lambda: (crop, flows))  # horizontal flip: u changes sign
    crop, flows = tf.cond(coins[1], lambda: (tf.reverse(crop, axis=[1]), tf.reverse(flows, axis=[0]) * vertical),
                          lambda: (crop, flows))  # vertical flip: v changes sign
    crop, flows = tf.cond(coins[2], lambda: (tf.reverse(crop, axis=[0]), tf.concat([flows[..., 2:], flows[..., :2]], -1)),
                          lambda: (crop, flows))  # temporal reversal: F_t->1 and F_t->3 swap
    return (crop, flows) if with_flows else crop


def cover_crop(frames, crop_size: tuple[int, int], flows=None):
    """Scales frames (and their prior flows) up, aspect kept, until they cover ``crop_size``; larger ones pass.

    Sources smaller than a profile's crop (carphone is 176x144, the ``full`` crop 256x448) are scaled up
    rather than padded: a mirrored or black border has no motion that continues the scene. Flow vectors
    are scaled with the frames (u by the width factor, v by the height factor).

    Args:
        frames: (3, H, W, 3) tensor, ``uint8`` or float.
        crop_size: (height, width) the frames must cover.
        flows: optional (H, W, 4) prior flows.

    Returns:
        ``(frames, flows)`` of the same dtypes (``flows`` stays ``None`` when not given).
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    shape = tf.shape(frames)
    height, width = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    scale = tf.maximum(1.0, tf.maximum(crop_size[0] / height, crop_size[1] / width))
    size = tf.cast(tf.math.ceil(tf.stack([height, width]) * scale), tf.int32)

    def scaled():
        resized = tf.image.resize(tf.cast(frames, tf.float32), size, method="bilinear")
        resized = tf.cast(tf.round(tf.clip_by_value(resized, 0.0, 255.0)), frames.dtype) \
            if frames.dtype == tf.uint8 else tf.cast(resized, frames.dtype)
        if flows is None:
            return resized, tf.zeros((1, 1, 4))
        factors = tf.cast(tf.stack([size[1], size[0], size[1], size[0]]), tf.float32) / tf.stack(
            [width, height, width, height])
        return resized, tf.cast(tf.image.resize(tf.cast(flows, tf.float32), size) * factors, flows.dtype)

    unchanged = (frames, tf.zeros((1, 1, 4)) if flows is None else flows)
    frames_out, flows_out = tf.cond(scale > 1.0, scaled, lambda: unchanged)
    return frames_out, (None if flows is None else flows_out)


def split_inputs(frames, flows=None):
    """Turns a (..., 3, H, W, 3) ``uint8`` tensor into (inputs, middle frame), floats in [0, 1].

    The inputs are frame 1 and frame 3 stacked (6 channels), followed by the prior flows when given
    (10 channels, the flow head's input).
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    frames = tf.cast(frames, tf.float32) / 255.0
    parts = [frames[..., 0, :, :, :], frames[..., 2, :, :, :]]
    if flows is not None:
        parts.append(tf.cast(flows, tf.float32))
    return tf.concat(parts, axis=-1), frames[..., 1, :, :, :]


def make_dataset(
    sources: Sequence[tuple[str | Path, Sequence[str]]],
    batch_size: int,
    crop_size: tuple[int, int] | None = None,
    training: bool = True,
    cache: bool = True,
    shuffle_buffer: int = 2048,
    seed: int | None = None,
    flow_prior: bool = False,
    autotune: bool = False,
):
    """Builds a ``tf.data`` pipeline of ``(frame1 ++ frame3, frame2)`` batches.

    Args:
        sources: pairs of (data root, triplet ids), e.g. real clips and synthetic triplets.
        batch_size: batch size (global batch size under a distribution strategy).
        crop_size: (height, width) of random crops for training; ``None`` keeps whole frames
            (then every triplet of a batch must share one size; use ``batch_size=1`` for mixed sizes).
        training: shuffle, repeat and augment (crops, flips, temporal reversal).
        cache: keep decoded frames in memory after the first pass (fits the default data).
        shuffle_buffer: shuffle buffer size in triplets.
        seed: shuffle seed.
        flow_prior: add the DIS prior flows as 4 more input channels (the flow head's input); they
            are computed once per triplet on the whole frames, cached with them, and follow every crop,
            flip and reversal.
        autotune: tf.data's model-based autotuner, off by default (see :func:`pipeline_options`).

    Returns:
        A ``tf.data.Dataset`` yielding ``(inputs, target)`` with inputs (batch, H, W, 6), or 10 with
        ``flow_prior``, and target (batch, H, W, 3), ``float32`` in [0, 1].
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    paths = [[str(p) for p in triplet_paths(root, i)] for root, ids in sources for i in ids]
    if not paths:
        raise ValueError("make_dataset got no triplets: every source has an empty id list.")
    if training and crop_size is None:
        raise ValueError("make_dataset(training=True) needs crop_size=(height, width) to batch frames.")
    dataset = tf.data.Dataset.from_tensor_slices(paths)
    if training:
        dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=False)
    dataset = dataset.map(_decode_triplet, num_parallel_calls=tf.data.AUTOTUNE)
    if flow_prior:
        dataset = dataset.map(_prior_flows, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(lambda frames: (frames,), num_parallel_calls=tf.data.AUTOTUNE)
    return finish_dataset(dataset, len(paths), batch_size, crop_size, training, cache, shuffle_buffer, seed, autotune)


def pipeline_options(autotune: bool = False):
    """``tf.data.Options`` for every pipeline of this repository: the model-based autotuner off by default.

    With the autotuner on, tf.data runs an optimisation thread that wakes after 10, 30, 70, 150, ... ms
    (its sleep doubles up to 60 s), and destroying the iterator, which ``model.fit`` does when it
    returns, waits for that thread's next wake-up: measured here (TensorFlow 2.21, 2 CPU cores), half of
    the 10-step ``fit`` calls took 2.55 s instead of 1.4 s, and a 600-step run's ``fit`` returned at
    81.9, 141.9 or 201.9 s after its first step, whatever the training itself took. Without it,
    ``AUTOTUNE`` parallelism means one call per core and ``prefetch(AUTOTUNE)`` still sizes its buffer
    on the fly; the input benchmark (``python -m utils.tools.bench --only input``) measures the readers so.

    Args:
        autotune: turn the model-based autotuner back on (many-core hosts whose input pipeline is the
            bottleneck may gain from its tuning; each ``fit`` then may end up to a minute late).
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    options = tf.data.Options()
    options.autotune.enabled = autotune
    return options


def finish_dataset(dataset, count: int, batch_size: int, crop_size: tuple[int, int] | None = None,
                   training: bool = True, cache: bool = True, shuffle_buffer: int = 2048, seed: int | None = None,
                   autotune: bool = False):
    """The steps every reader shares: cache, shuffle and repeat, augment, batch, split into (inputs, target), prefetch.

    Args:
        dataset: a ``tf.data.Dataset`` of ``(frames,)`` or ``(frames, flows)`` tuples, frames ``uint8``
            (3, H, W, 3), flows (H, W, 4).
        count: number of triplets in ``dataset`` (bounds the shuffle buffer).
        autotune: the model-based autotuner (:func:`pipeline_options`).
        Other arguments: as in :func:`make_dataset`.
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.repeat().shuffle(min(shuffle_buffer, count), seed=seed)
        dataset = dataset.map(lambda *parts: _as_tuple(augment_triplet(parts[0], crop_size, *parts[1:])),
                              num_parallel_calls=tf.data.AUTOTUNE)
    elif crop_size is not None:
        # Centre crop, the same for every epoch.
        dataset = dataset.map(lambda *parts: tuple(tf.image.resize_with_crop_or_pad(p, *crop_size) for p in parts),
                              num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size, drop_remainder=training)
    dataset = dataset.map(split_inputs, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(pipeline_options(autotune))


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def measure_throughput(dataset, batches: int = 20, warmup: int = 2) -> float:
    """Returns the triplets per second a dataset delivers (after ``warmup`` batches, e.g. cache filling)."""

    iterator = iter(dataset)
    for _ in range(warmup):
        next(iterator)
    count = 0
    start = time.perf_counter()
    for _ in range(batches):
        inputs, _target = next(iterator)
        count += int(inputs.shape[0])
    return count / (time.perf_counter() - start)
