"""The judge of a long run: the fixed validation set as network inputs and the baselines' scores on it."""

from __future__ import annotations

import hashlib

import numpy as np

from utils.data import vimeo
from utils.models import baselines


def psnr_per_image(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """PSNR (dB) of each image of a batch, predictions clipped to [0, 1]."""
    error = np.mean((np.clip(prediction, 0.0, 1.0) - truth) ** 2, axis=tuple(range(1, truth.ndim)))
    return 10.0 * np.log10(1.0 / np.maximum(error, 1e-10))


class Validation:
    """The fixed validation set as network inputs, with the baselines' scores on it (at each triplet's t)."""

    def __init__(self, validation: dict, flow_prior: bool):

        frames, flows = validation["frames"], validation["flows"]
        inputs, target = vimeo.split_inputs(frames, flows if flow_prior else None)
        self.inputs, self.target = np.asarray(inputs), np.asarray(target)
        self.times = times = np.asarray(validation.get("times", np.full(len(frames), 0.5)), np.float32)
        self.digest = hashlib.sha256(np.ascontiguousarray(frames).tobytes()).hexdigest()[:16]
        weight = times[:, None, None, None]
        average = (1.0 - weight) * self.inputs[..., 0:3] + weight * self.inputs[..., 3:6]
        self.baselines = {"average": float(psnr_per_image(self.target, average).mean()),
                          "dis": float(np.mean([psnr_per_image(target[None], _dis(f, t))[0]
                                                for target, f, t in zip(self.target, frames, times)]))}

    def score(self, network, batch: int = 16) -> float:
        """Mean PSNR of ``network`` on the set."""
        scores = [psnr_per_image(self.target[i:i + batch],
                                 np.asarray(network(self.inputs[i:i + batch], training=False), np.float32))
                  for i in range(0, len(self.inputs), batch)]
        return float(np.concatenate(scores).mean())


def _dis(frames: np.ndarray, t: float = 0.5) -> np.ndarray:

    return baselines.dis_interpolate(frames[0], frames[2], float(t))[None]
