"""Every committed model predicts what it predicted before the code moved: bit for bit on this machine's CPU.

``shipped_model_outputs.npz`` holds each model's output on fixed inputs, written by the code as it stood before
``utils/`` was split into wings (the direct call of the network, and the method that evaluation, the video
command and the notebooks use). On another CPU model the kernels may round differently, so there the outputs
must agree within 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from utils import hardware, paths
from utils.models import interpolator

REFERENCE = Path(__file__).with_name("shipped_model_outputs.npz")
MODELS = sorted(paths.resolve("results/models").glob("*.keras"))


def fixed_inputs(channels: int):
    """The inputs the references were computed on: a random network input, and two frames 3 px apart."""
    rng = np.random.default_rng(0)
    frame1 = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    network_input = np.random.default_rng(1).random((1, 40, 56, channels), dtype=np.float32)
    return network_input, frame1, np.roll(frame1, 3, axis=1)


def same(actual: np.ndarray, expected: np.ndarray, exact: bool) -> bool:
    return np.array_equal(actual, expected) if exact else np.allclose(actual, expected, atol=1e-4)


def test_every_committed_model_has_a_reference():
    with np.load(REFERENCE) as reference:
        assert {path.stem for path in MODELS} == {key.split("__")[0] for key in reference if key != "cpu_model"}


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_committed_model_predicts_as_before(path):
    with np.load(REFERENCE) as reference:
        exact = str(reference["cpu_model"]) == f"{hardware.cpu_model()}, bfloat16 {hardware.cpu_has_bfloat16()}"
        direct, method = reference[f"{path.stem}__direct"], reference[f"{path.stem}__method0"]
    model = interpolator.load_model(path)
    network_input, frame1, frame3 = fixed_inputs(int(model.inputs[0].shape[-1]))
    assert same(np.asarray(model(network_input, training=False), np.float32), direct, exact)
    assert same(np.asarray(interpolator.load_method(path)(frame1, frame3), np.float32), method, exact)
