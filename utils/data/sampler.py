"""Training batches and the validation set, read from the corpus of :mod:`utils.data.corpus`.

Shots are memory-mapped ``.npy`` files, so a crop reads only its own pixels. Each training example
is a random triplet of the train split (any gap of :data:`utils.data.corpus.GAPS`), cropped where it moves
most among a few candidates (half of the time), flipped and reversed at random; with ``flow_prior``
the DIS prior is computed on the crop plus a margin. A share of the examples are synthetic scenes
textured by the corpus photographs (exact ground truth for occlusions). Example ``k`` of a run depends
only on ``(seed, k)``, so a resumed run continues the same stream.

For the time-conditioned flow UNet (``time_input``) the target may be any frame between the two ends:
a triplet at gap g spans 2g frames, so its frame k (0 < k < 2g) is the frame at t = k / 2g (gap 2 gives
1/4, 1/2 and 3/4; gap 3 sixths); half of the examples stay at t = 1/2. The flows are then DIS's flows
in both directions and a plane of t (:func:`utils.models.interpolator.time_inputs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
import cv2
import numpy as np

from utils import flow
from utils.data import corpus, packages, synthetic, vimeo

PRIOR_MARGIN = 8  # pixels around a crop that DIS sees (motion entering the crop)


SYNTHETIC_OPTIONS = {"max_object_motion": 16.0, "max_background_motion": 6.0, "max_rotation": 10.0,
                     "max_zoom": 0.1, "max_light_change": 0.1}


class Corpus:
    """The shots of a built corpus, memory-mapped on first use.

    Args:
        manifest: from :func:`utils.data.corpus.load_manifest` (or the ``data_dir`` to load it from).
    """

    def __init__(self, manifest: dict | str | Path = "data"):
        self.manifest = manifest if isinstance(manifest, dict) else corpus.load_manifest(manifest)
        self.root = Path(self.manifest["root"])
        self.shots = self.manifest["shots"]
        self._maps: dict[int, np.ndarray] = {}
        self._photos: list[np.ndarray] | None = None

    def shot(self, index: int) -> np.ndarray:
        """Shot ``index`` as a read-only (frames, H, W, 3) ``uint8`` memory map (its ``range`` of the file when
        it is part of a shot: :func:`utils.data.corpus.shot_entries`)."""
        if index not in self._maps:
            frames = np.load(self.root / self.shots[index]["file"], mmap_mode="r")
            first, end = self.shots[index].get("range", (0, len(frames)))
            self._maps[index] = frames[first:end]
        return self._maps[index]

    def triplets(self, split: str, gaps: Sequence[int] = corpus.GAPS) -> np.ndarray:
        """Every usable triplet of ``split`` as rows ``(shot, start, gap)`` (int32)."""
        if split not in ("train", "validation", "excluded"):
            raise ValueError(f"Unknown corpus split {split!r}: expected 'train' or 'validation'.")
        rows = [(index, start, gap) for index, shot in enumerate(self.shots) if shot["split"] == split
                for start, gap in corpus.usable_triplets(shot["motion"], gaps)]
        if not rows:
            raise ValueError(f"The corpus in {self.root} has no {split} triplet.")
        return np.asarray(rows, np.int32)

    def source_weights(self, rows: np.ndarray, balance: float) -> np.ndarray | None:
        """Cumulative sampling weights of ``rows`` (of :meth:`triplets`) that give each source a share of the
        examples proportional to ``triplets ** (1 - balance)``: 0 keeps every triplet equally likely (a source's
        share is its size), 1 gives every source the same share; ``None`` for 0."""
        if not balance:
            return None
        sources = np.array([self.shots[int(index)]["source"] for index in rows[:, 0]])
        _, inverse, counts = np.unique(sources, return_inverse=True, return_counts=True)
        return np.cumsum(counts[inverse].astype(np.float64) ** -float(balance))

    def group_shares(self, balance: float = 0.0, synthetic_fraction: float = 0.0) -> dict[str, float]:
        """The share of training examples each group of footage gets (synthetic scenes as ``"synthetic"``) at
        ``source_balance`` ``balance``: the weights :meth:`source_weights` samples by, summed per group."""
        rows = self.triplets("train")
        weights = self.source_weights(rows, balance)
        weights = np.ones(len(rows)) if weights is None else np.diff(weights, prepend=0.0)
        groups = np.array([str(self.shots[int(index)].get("group", "all")) for index in rows[:, 0]])
        shares = {str(name): (1.0 - synthetic_fraction) * float(weights[groups == name].sum() / weights.sum())
                  for name in sorted(set(groups))}
        return {**shares, **({"synthetic": synthetic_fraction} if synthetic_fraction else {})}

    def frames(self, row: Sequence[int], box: tuple[int, int, int, int] | None = None,
               offset: int | None = None) -> np.ndarray:
        """The three frames of triplet ``(shot, start, gap)``, cropped to ``box = (top, left, h, w)``.

        ``offset`` (0 < offset < 2 gap) picks frame ``start + offset`` as the target instead of the middle.
        """
        shot, start, gap = (int(v) for v in row)
        offset = gap if offset is None else int(offset)
        frames = self.shot(shot)[[start, start + offset, start + 2 * gap]]
        if box is not None:
            top, left, height, width = box
            frames = frames[:, top:top + height, left:left + width]
        return np.ascontiguousarray(frames)

    def photos(self, max_side: int = 512) -> list[np.ndarray]:
        """The corpus photographs as float textures (empty when no photo package was built)."""
        if self._photos is None:
            self._photos = synthetic.load_photos([self.root / f for f in self.manifest.get("photo_files", [])],
                                                 max_side)
        return self._photos


def _moving_box(corpus_: Corpus, row, frame_size, crop, rng, candidates: int) -> tuple[int, int]:
    """(top, left) of the candidate crop where frame 1 and frame 3 differ most."""
    height, width = frame_size
    tops = rng.integers(0, height - crop[0] + 1, candidates)
    lefts = rng.integers(0, width - crop[1] + 1, candidates)
    shot, start, gap = (int(v) for v in row)
    first = corpus_.shot(shot)[start][::4, ::4].astype(np.int16)
    last = corpus_.shot(shot)[start + 2 * gap][::4, ::4]
    change = np.abs(first - last).sum(-1)
    scores = [change[t // 4:(t + crop[0]) // 4, l // 4:(l + crop[1]) // 4].mean() for t, l in zip(tops, lefts)]
    best = int(np.argmax(scores))
    return int(tops[best]), int(lefts[best])


def _augment(frames: np.ndarray, offsets: list[int], rng) -> np.ndarray:
    """Random horizontal and vertical flips and temporal reversal of (3, H, W, 3) frames.

    ``offsets = [top, bottom, left, right]`` margins around the wanted crop follow the flips; a fifth
    entry, when present, is the target's time t, which reversal turns into 1 - t.
    """
    if rng.random() < 0.5:
        frames = frames[:, :, ::-1]
        offsets[2], offsets[3] = offsets[3], offsets[2]
    if rng.random() < 0.5:
        frames = frames[:, ::-1]
        offsets[0], offsets[1] = offsets[1], offsets[0]
    if rng.random() < 0.5:
        frames = frames[::-1]
        if len(offsets) > 4:
            offsets[4] = 1.0 - offsets[4]
    return np.ascontiguousarray(frames)


def target_offset(gap: int, rng: np.random.Generator, middle_share: float = 0.5) -> int:
    """Which frame of a triplet at ``gap`` is the target: the middle (``gap``) with ``middle_share``, else any
    other frame strictly between the two ends (t = offset / 2 gap); gap 1 has only the middle."""
    others = [k for k in range(1, 2 * gap) if k != gap]
    if not others or rng.random() < middle_share:
        return gap
    return int(others[rng.integers(len(others))])


def _time_flows(frames: np.ndarray, t: float) -> np.ndarray:
    """DIS's flows both ways between frame 1 and frame 3 and a plane of ``t``: (H, W, 5)."""
    return flow.time_channels(flow.dis_flows(frames[0], frames[2]), t)


def corpus_example(corpus_: Corpus, triplets: np.ndarray, rng: np.random.Generator, crop: tuple[int, int],
                   flow_prior: bool, hard_fraction: float = 0.5, candidates: int = 4, time_input: bool = False,
                   teacher: bool = False, weights: np.ndarray | None = None, factor: int = 1
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """One augmented corpus crop: frames (3, h, w, 3) ``uint8`` and, with ``flow_prior``, flows (h, w, 4).

    With ``time_input`` the target is the frame at a time t of :func:`target_offset` and the flows are
    (h, w, 5): DIS's flows both ways and the t plane. With ``teacher``, 6 more channels follow: the teacher
    flows at the target and their weights (:func:`utils.flow.teacher_flows`). ``weights``: cumulative weights
    of the triplets (:meth:`Corpus.source_weights`), else all are equally likely. ``factor`` > 1 (time model
    only): the flows are DIS's on the frames shrunk by it (area averaging), (h / factor, w / factor, 5), what the
    video command computes at ``--scale 1/factor`` (``crop`` a multiple of ``factor``).
    """
    pick = rng.integers(len(triplets)) if weights is None else np.searchsorted(weights, rng.random() * weights[-1], "right")
    row = triplets[min(int(pick), len(triplets) - 1)]
    offset = target_offset(int(row[2]), rng) if time_input else None
    flow_prior = flow_prior or time_input
    shot = corpus_.shot(int(row[0]))
    height, width = shot.shape[1:3]
    if height < crop[0] or width < crop[1]:  # a source smaller than the crop: scale it up (aspect kept)
        frames = corpus_.frames(row, offset=offset)
        scale = max(crop[0] / height, crop[1] / width)
        size = (int(np.ceil(width * scale)), int(np.ceil(height * scale)))
        frames = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in frames])
        top = int(rng.integers(0, size[1] - crop[0] + 1))
        left = int(rng.integers(0, size[0] - crop[1] + 1))
        region, offsets = frames, [top, size[1] - crop[0] - top, left, size[0] - crop[1] - left]
    else:
        if rng.random() < hard_fraction:
            top, left = _moving_box(corpus_, row, (height, width), crop, rng, candidates)
        else:
            top, left = int(rng.integers(0, height - crop[0] + 1)), int(rng.integers(0, width - crop[1] + 1))
        margin = PRIOR_MARGIN if flow_prior else 0
        y0, x0 = max(0, top - margin), max(0, left - margin)
        y1, x1 = min(height, top + crop[0] + margin), min(width, left + crop[1] + margin)
        region = corpus_.frames(row, (y0, x0, y1 - y0, x1 - x0), offset)
        offsets = [top - y0, y1 - top - crop[0], left - x0, x1 - left - crop[1]]
    if time_input:
        offsets.append(offset / (2.0 * int(row[2])))
    region = _augment(region, offsets, rng)
    top, left = offsets[0], offsets[2]
    frames = region[:, top:top + crop[0], left:left + crop[1]]
    if factor > 1:
        return np.ascontiguousarray(frames), _shrunk_time_flows(region, top, left, crop, factor, offsets[4])
    flows = None
    if time_input:
        flows = _time_flows(region, offsets[4])
    elif flow_prior:
        flows = flow.flow_prior(region[0], region[2])
    if teacher:
        flows = _with_teacher(region, flows, offsets[4] if time_input else None)
    return np.ascontiguousarray(frames), None if flows is None else flows[top:top + crop[0], left:left + crop[1]]


def _shrunk_time_flows(region: np.ndarray, top: int, left: int, crop: tuple[int, int], factor: int,
                       t: float) -> np.ndarray:
    """:func:`_time_flows` of ``region`` shrunk by ``factor``, cut to the crop at (``top``, ``left``): the region
    is first trimmed so that the crop's corner and its own sides fall on the shrunk pixels' grid."""
    trim_top, trim_left = top % factor, left % factor
    region = region[:, trim_top:, trim_left:]
    top, left = (top - trim_top) // factor, (left - trim_left) // factor
    height, width = region.shape[1] // factor, region.shape[2] // factor
    small = np.stack([cv2.resize(frame[:height * factor, :width * factor], (width, height),
                                 interpolation=cv2.INTER_AREA) for frame in region])
    flows = _time_flows(small, t)
    return flows[top:top + crop[0] // factor, left:left + crop[1] // factor]


def _with_teacher(frames: np.ndarray, flows: np.ndarray, t: float | None) -> np.ndarray:
    """``flows`` followed by :func:`utils.flow.teacher_flows` against the prior they give (at ``t`` for the time
    model's DIS flows, else ``flows`` are the prior)."""
    prior = flows if t is None else flow.intermediate_flows(flows[..., 0:2], flows[..., 2:4], t)
    return np.concatenate([flows, flow.teacher_flows(frames, prior)], axis=-1)


def synthetic_example(rng: np.random.Generator, crop: tuple[int, int], photos: list[np.ndarray] | None,
                      flow_prior: bool, time_input: bool = False, teacher: bool = False, factor: int = 1
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """One synthetic scene of crop size (photo textures when given, turning and zooming layers).

    With ``time_input`` the target is at a t of :func:`target_offset` for a gap of 2 (1/4, 1/2 or 3/4);
    ``teacher`` appends the teacher flows as :func:`corpus_example` does; ``factor`` as there.
    """
    t = target_offset(2, rng) / 4.0 if time_input else 0.5
    frames = np.stack(synthetic.make_triplet(rng, crop, t, photos=photos or None, **SYNTHETIC_OPTIONS))
    if factor > 1:
        return frames, _shrunk_time_flows(frames, 0, 0, crop, factor, t)
    if time_input:
        flows = _time_flows(frames, t)
    else:
        flows = flow.flow_prior(frames[0], frames[2]) if flow_prior else None
    if teacher:
        flows = _with_teacher(frames, flows, t if time_input else None)
    return frames, flows


def training_dataset(corpus_: Corpus, batch_size: int, crop: tuple[int, int] = (128, 128), flow_prior: bool = False,
                     seed: int = 0, start: int = 0, synthetic_fraction: float = 0.1, hard_fraction: float = 0.5,
                     time_input: bool = False, teacher: bool = False, source_balance: float = 0.0,
                     scaled_share: float = 0.0, scaled_crop: tuple[int, int] = (224, 256)):
    """An endless ``tf.data`` stream of ``(inputs, target)`` batches from the train split.

    Args:
        corpus_: the corpus.
        batch_size: examples per batch.
        crop: (height, width) of the crops.
        flow_prior: append the DIS prior flows (the flow-guided UNet's 10-channel input).
        seed: stream seed; example ``k`` depends only on ``(seed, k)``.
        start: index of the first example (a resumed run passes ``steps * batch_size``).
        synthetic_fraction: share of synthetic scenes.
        hard_fraction: share of crops taken where the frames change most (of 4 candidates).
        time_input: targets at several t, inputs of the time-conditioned flow UNet (11 channels).
        teacher: the targets carry 6 channels more: the teacher flows at t and their weights
            (:func:`utils.flow.teacher_flows`), for :func:`utils.models.losses.flow_distillation`.
        source_balance: 0 draws every train triplet equally often (the sources in proportion to their size);
            up to 1, the smaller sources more often (:meth:`Corpus.source_weights`).
        scaled_share: (time model) > 0: batches are ``((inputs, full pair), target)`` for
            :func:`utils.models.scaled.trainer`, and this share of them (drawn per batch) are ``scaled_crop``
            crops whose network inputs are shrunk by :data:`SCALED_FACTOR` (:func:`scaled_batches`).
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    triplets = corpus_.triplets("train")
    weights = corpus_.source_weights(triplets, source_balance)
    photos = corpus_.photos() if synthetic_fraction > 0 else None
    with_flows = flow_prior or time_input
    if teacher and not with_flows:
        raise ValueError("teacher flows are for the flow UNets (flow_prior or time_input).")
    cv2.setNumThreads(1)  # the examples are made two at a time; OpenCV's own pool would oversubscribe the cores

    def example(index):
        rng = np.random.default_rng([seed, int(index)])
        if rng.random() < synthetic_fraction:
            frames, flows = synthetic_example(rng, crop, photos, flow_prior, time_input, teacher)
        else:
            frames, flows = corpus_example(corpus_, triplets, rng, crop, flow_prior, hard_fraction,
                                           time_input=time_input, teacher=teacher, weights=weights)
        return frames, (flows if with_flows else np.zeros((1, 1, 4), np.float32))

    def make(index):
        frames, flows = tf.numpy_function(example, [index], [tf.uint8, tf.float32], stateful=False)
        channels = (5 if time_input else 4) + (6 if teacher else 0)
        return tf.ensure_shape(frames, (3, *crop, 3)), tf.ensure_shape(flows, (None, None, channels))

    def split(frames, flows):
        inputs, target = vimeo.split_inputs(frames, flows if with_flows else None)
        if teacher:  # the teacher's channels go with the target, not into the network
            inputs, target = inputs[..., :-6], tf.concat([target, inputs[..., -6:]], axis=-1)
        return inputs, target

    if scaled_share:
        if not time_input or teacher:
            raise ValueError("scaled_share: trains the time model's reduced-resolution path (no teacher flows).")

        def scaled_example(index):
            rng = np.random.default_rng([seed, int(index)])
            if rng.random() < synthetic_fraction:
                return synthetic_example(rng, scaled_crop, photos, False, True, factor=SCALED_FACTOR)
            return corpus_example(corpus_, triplets, rng, scaled_crop, False, hard_fraction, time_input=True,
                                  weights=weights, factor=SCALED_FACTOR)

        return scaled_batches(make, scaled_example, split, batch_size, start, seed, scaled_share, scaled_crop)
    dataset = tf.data.Dataset.range(start, 2**62).map(make, num_parallel_calls=2, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(split)
    return dataset.prefetch(2).with_options(vimeo.pipeline_options())


SCALED_FACTOR = 2  # scaled batches: the network sees the pair at half its size, the video command's 720p and 1080p


def scaled_batches(make, scaled_example, split, batch_size: int, start: int, seed: int, share: float,
                   crop: tuple[int, int]):
    """Batches ``((network inputs, full pair), target)`` for :func:`utils.models.scaled.trainer`: batch ``k``
    is scaled with probability ``share`` (a draw from ``(seed, k)``, so a resumed run sees the same stream):
    ``crop`` crops, the network's frames shrunk by :data:`SCALED_FACTOR` (2 x 2 averages rounded to 8 bits, as
    the video command's area shrink) with DIS's flows of the shrunk pair; else the usual crops, whose pair is
    the network's own frames. Examples are numbered as in the plain stream (batch ``k`` holds examples
    ``k * batch_size`` onwards)."""
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    def scaled(index):
        frames, flows = tf.numpy_function(scaled_example, [index], [tf.uint8, tf.float32], stateful=False)
        small = (crop[0] // SCALED_FACTOR, crop[1] // SCALED_FACTOR)
        return tf.ensure_shape(frames, (3, *crop, 3)), tf.ensure_shape(flows, (*small, 5))

    def split_scaled(frames, flows):
        levels = tf.cast(frames, tf.float32)
        pair = tf.concat([levels[:, 0], levels[:, 2]], axis=-1)
        small = tf.round(tf.nn.avg_pool2d(pair, SCALED_FACTOR, SCALED_FACTOR, "VALID"))
        return (tf.concat([small / 255.0, flows], axis=-1), pair / 255.0), levels[:, 1] / 255.0

    def split_plain(frames, flows):
        inputs, target = split(frames, flows)
        return (inputs, inputs[..., 0:6]), target

    def is_scaled(batch):
        draw = tf.random.stateless_uniform([], tf.stack([tf.cast(seed, tf.int64) + 7919, batch]))
        return tf.cast(draw < share, tf.int64)

    first = start // batch_size

    def stream(kind: int, example, finish):
        batches = tf.data.Dataset.range(first, 2**62).filter(lambda k: tf.equal(is_scaled(k), kind))
        examples = batches.flat_map(lambda k: tf.data.Dataset.range(k * batch_size, (k + 1) * batch_size))
        return examples.map(example, num_parallel_calls=2, deterministic=True) \
            .batch(batch_size, drop_remainder=True).map(finish)

    choices = tf.data.Dataset.range(first, 2**62).map(is_scaled)
    dataset = tf.data.Dataset.choose_from_datasets([stream(0, make, split_plain), stream(1, scaled, split_scaled)],
                                                   choices)
    return dataset.prefetch(2).with_options(vimeo.pipeline_options())


def balanced_rows(corpus_: Corpus, triplets: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` of ``triplets``: an equal share for each group of footage (a shot's ``group``; one group
    for a corpus without them), within a group an equal share for each source (one with fewer triplets gives
    all it has and the others take the rest), each source's spread evenly over its triplets.

    Returns:
        the rows and the group of each.
    """
    shots = [corpus_.shots[int(index)] for index in triplets[:, 0]]
    sources = np.array([shot["source"] for shot in shots])
    groups = np.array([shot.get("group", "all") for shot in shots])
    order = {name: rank for rank, name in enumerate(packages.GROUPS)}
    names = sorted(set(groups), key=lambda name: (order.get(name, len(order)), name))
    picked = []
    for group, share in zip(names, _quotas(count, {name: int((groups == name).sum()) for name in names}).values()):
        members = sorted(set(sources[groups == group]))
        quotas = _quotas(share, {source: int(((sources == source) & (groups == group)).sum()) for source in members})
        for source, quota in quotas.items():
            where = np.flatnonzero((sources == source) & (groups == group))
            picked.append(where[np.linspace(0, len(where) - 1, quota).round().astype(int)] if quota else where[:0])
    chosen = np.concatenate(picked)
    return triplets[chosen], groups[chosen]


def _quotas(total: int, sizes: dict[str, int]) -> dict[str, int]:
    """``total`` split as evenly as ``sizes`` allow (none above its size; what one cannot take goes to the rest)."""
    quotas = dict.fromkeys(sizes, 0)
    left = min(total, sum(sizes.values()))
    while left:
        open_ = [name for name in sizes if quotas[name] < sizes[name]]
        each, extra = divmod(left, len(open_))
        for rank, name in enumerate(open_):
            take = min(each + (rank < extra), sizes[name] - quotas[name])
            quotas[name] += take
            left -= take
    return quotas


def validation_set(corpus_: Corpus, count: int = 192, crop: tuple[int, int] = (224, 320),
                   times: Sequence[float] | None = None) -> dict[str, np.ndarray]:
    """A fixed validation set: ``count`` triplets of the validation split balanced by group of footage and by
    source (:func:`balanced_rows`), centre-cropped.

    Args:
        times: for the time-conditioned model, e.g. ``(0.25, 0.5, 0.75)``: the triplets are the gap-2 ones
            (frames i .. i + 4) and their targets cycle through these times (frame i + 4 t).

    Returns:
        ``frames`` (count, 3, h, w, 3) ``uint8`` and ``flows`` (count, h, w, 4): the DIS prior of the crops,
        each crop treated as a small video (the DIS baseline sees the same crops, so the untrained flow
        UNet scores as DIS does); with ``times``, flows (count, h, w, 5) of :func:`_time_flows` and ``times``
        (count,), the t of each triplet; ``rows`` and ``groups``, each triplet's group of footage.
    """
    triplets = corpus_.triplets("validation", gaps=(2,) if times else corpus.GAPS)
    rows, groups = balanced_rows(corpus_, triplets, count)
    targets = [times[i % len(times)] for i in range(len(rows))] if times else [0.5] * len(rows)
    frames, flows = [], []
    for row, t in zip(rows, targets):
        whole = corpus_.frames(row, offset=round(t * 2 * int(row[2])))
        height, width = whole.shape[1:3]
        h, w = min(crop[0], height) // 8 * 8, min(crop[1], width) // 8 * 8
        top, left = (height - h) // 2, (width - w) // 2
        crop_frames = np.ascontiguousarray(whole[:, top:top + h, left:left + w])
        frames.append(crop_frames)
        flows.append(_time_flows(crop_frames, t) if times else flow.flow_prior(crop_frames[0], crop_frames[2]))
    sizes = {f.shape for f in frames}
    if len(sizes) > 1:  # sources smaller than the crop: cut every triplet to the smallest size
        h, w = min(s[1] for s in sizes), min(s[2] for s in sizes)
        frames, flows = [f[:, :h, :w] for f in frames], [f[:h, :w] for f in flows]
    return {"frames": np.stack(frames), "flows": np.stack(flows), "rows": rows,
            "times": np.asarray(targets, np.float32), "groups": groups}
