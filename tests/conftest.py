"""Shared fixtures: small data sets in the Vimeo90K layout, written to tmp_path."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

from utils import data, synthetic


@pytest.fixture(autouse=True)
def _seeds_and_policy():
    """Each test starts from fixed seeds and float32 (a test may switch to mixed precision)."""
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def vimeo_root(tmp_path):
    """A Vimeo90K-layout folder with 6 synthetic training and 2 test triplets of 48x64 frames."""
    root = tmp_path / "vimeo_triplet"
    rng = np.random.default_rng(0)
    train = [f"00001/{k:04d}" for k in range(1, 7)]
    test = ["00002/0001", "00002/0002"]
    for triplet_id in train + test:
        data.write_triplet(root, triplet_id, synthetic.make_triplet(rng, (48, 64)))
    data.write_triplet_list(root, "train", train)
    data.write_triplet_list(root, "test", test)
    return root
