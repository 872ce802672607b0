"""The judge of a long run: the fixed validation set as network inputs and the baselines' scores on it."""

from __future__ import annotations

import hashlib

import numpy as np

from utils import flow
from utils.data import vimeo
from utils.models import baselines, ensemble, interpolator
from utils.models import scaled as scaled_path  # the name `scaled` is psnrs' flag


def psnr_per_image(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """PSNR (dB) of each image of a batch, predictions clipped to [0, 1]."""
    error = np.mean((np.clip(prediction, 0.0, 1.0) - truth) ** 2, axis=tuple(range(1, truth.ndim)))
    return 10.0 * np.log10(1.0 / np.maximum(error, 1e-10))


class Validation:
    """The fixed validation set as network inputs, with the baselines' scores on it (at each triplet's t).

    Scores are balanced: the mean over groups of footage (``validation["groups"]``) of each group's mean PSNR,
    so that the group with the most footage does not decide alone (:meth:`balanced`; :meth:`by_group` reports
    each group).

    With ``scaled_factor`` (the time model trained for the video command's reduced resolution too) every
    triplet is also scored as the command makes it at ``--scale 1/scaled_factor``: the pair shrunk (area), DIS
    and the network on it, the frame composed at full size (:func:`utils.models.scaled.trainer`); the score that
    decides is then the mean of the two (:meth:`parts` gives each), and the digest says so.
    """

    def __init__(self, validation: dict, flow_prior: bool, scaled_factor: int = 0):

        frames, flows = validation["frames"], validation["flows"]
        inputs, target = vimeo.split_inputs(frames, flows if flow_prior else None)
        self.inputs, self.target = np.asarray(inputs), np.asarray(target)
        self.times = times = np.asarray(validation.get("times", np.full(len(frames), 0.5)), np.float32)
        self.digest = hashlib.sha256(np.ascontiguousarray(frames).tobytes()).hexdigest()[:16]
        self.scaled_factor = int(scaled_factor)
        if self.scaled_factor:
            self.digest += f"-scaled{self.scaled_factor}"
            self.small_inputs = np.stack([_shrunk_inputs(f, t, self.scaled_factor) for f, t in zip(frames, times)])
            self.pair = self.inputs[..., 0:6]
        self._views: dict = {}
        self.groups = np.asarray(validation.get("groups", np.full(len(frames), "all")))
        self.group_names = list(dict.fromkeys(self.groups.tolist()))
        weight = times[:, None, None, None]
        average = (1.0 - weight) * self.inputs[..., 0:3] + weight * self.inputs[..., 3:6]
        starts = {"average": psnr_per_image(self.target, average),
                  "dis": np.array([psnr_per_image(target[None], _dis(f, t))[0]
                                   for target, f, t in zip(self.target, frames, times)])}
        self.baselines = {name: self.balanced(psnrs) for name, psnrs in starts.items()}
        self.group_baselines = {name: self.by_group(psnrs) for name, psnrs in starts.items()}

    def balanced(self, psnrs: np.ndarray) -> float:
        """The mean over groups of footage of each group's mean (the pooled mean for a set without groups)."""
        return float(np.mean(list(self.by_group(psnrs).values())))

    def by_group(self, psnrs: np.ndarray) -> dict[str, float]:
        """``{group: mean PSNR of its triplets}``."""
        return {name: float(np.mean(psnrs[self.groups == name])) for name in self.group_names}

    def score(self, network, batch: int = 16) -> float:
        """The balanced PSNR of ``network`` (:meth:`balanced`; with ``scaled_factor`` the mean of :meth:`parts`):
        the number every decision of a run reads."""
        return decision(self.parts(network, batch))

    def parts(self, network, batch: int = 16) -> dict[str, float]:
        """``{"full": balanced PSNR}``, and with ``scaled_factor`` ``"scaled"``: the same at the reduced resolution."""
        result = {"full": self.balanced(self.psnrs(network, batch))}
        if self.scaled_factor:
            result["scaled"] = self.balanced(self.psnrs(network, batch, scaled=True))
        return result

    def psnrs(self, network, batch: int = 16, scaled: bool = False, views: int = 1) -> np.ndarray:
        """PSNR of ``network`` on each triplet (``scaled``: through the reduced-resolution path; ``views``: the mean
        of the first ``views`` of :data:`utils.models.ensemble.VIEWS`, each clipped, as the video command makes it)."""
        call, inputs = self._caller(network, scaled)
        scores = []
        for i in range(0, len(self.inputs), batch):  # a batch at a time: the predictions are never all in memory
            part = [x[i:i + batch] for x in inputs]
            frames = [np.clip(ensemble.unview(np.asarray(call(view, *part), np.float32), view), 0.0, 1.0)
                      for view in range(views)]
            scores.append(psnr_per_image(self.target[i:i + batch], np.mean(frames, axis=0)))
        return np.concatenate(scores)

    def _caller(self, network, scaled: bool):
        """``(call, inputs)``: ``call(view, *batch of inputs)`` is ``network``'s frame (not clipped) for the pairs
        as :data:`utils.models.ensemble.VIEWS` ``[view]`` shows them (``unview`` brings it back)."""
        if not scaled:
            return (lambda view, x: network(ensemble.view_inputs(x, view), training=False)), (self.inputs,)
        if id(network) not in self._views:
            self._views[id(network)] = scaled_path.trainer(network)
        trainer = self._views[id(network)]
        return (lambda view, small, pair: trainer([ensemble.view_inputs(small, view), ensemble.view_pairs(pair, view)],
                                                  training=False)), (self.small_inputs, self.pair)


def decision(parts: dict[str, float]) -> float:
    """The score a run decides by, from :meth:`Validation.parts`: their mean (the full-size score alone for a
    plain run)."""
    return float(np.mean(list(parts.values())))


def _dis(frames: np.ndarray, t: float = 0.5) -> np.ndarray:

    return baselines.dis_interpolate(frames[0], frames[2], float(t))[None]


def _shrunk_inputs(frames: np.ndarray, t: float, factor: int) -> np.ndarray:
    """The time model's inputs for a triplet's end frames shrunk by ``factor`` (area), as the video command makes
    them: both frames in [0, 1], DIS's flows of the small pair, the t plane."""
    size = (frames.shape[2] // factor, frames.shape[1] // factor)
    small_a, small_b = scaled_path.shrink(frames[0], size), scaled_path.shrink(frames[2], size)
    return interpolator.time_inputs(small_a, small_b, flow.dis_flows(small_a, small_b), t)
