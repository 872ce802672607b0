"""One way to interpolate: the :class:`Method` that notebooks, evaluation, the video command and bench share.

A method maps two ``uint8`` RGB frames (H, W, 3) to the frame halfway between them, ``float32`` in [0, 1].
:func:`load_method` is the one loader: a baseline's name (``average``, ``dis``, ``minterpolate``; the table
:data:`BASELINES`) or a checkpoint saved by this repository, by default :data:`utils.paths.DEFAULT_CHECKPOINT` (the
long-trained time-conditioned flow UNet)::

    method = load_method()                      # the shipped model
    middle = method(frame_a, frame_b)           # t = 1/2
    quarter = method.at_time(frame_a, frame_b, 0.25)   # any t, where the method has it (DIS, averaging, time model)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from utils import flow, paths
from utils.media import image_io, video_io
from utils.models import ensemble as ensembles
from utils.models import baselines, scaled, tiling, unet, warp  # noqa: F401 (unet and warp register the custom layers)

MAX_LEVELS = 6  # a midpoint network reaches multiples of 1 / 2**MAX_LEVELS

Frames = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Method:
    """An interpolation method: ``method(frame_a, frame_b)`` is the middle frame (``float32`` in [0, 1]).

    Attributes:
        name: the name tables and figures show (``DIS flow``, ``time flow UNet corpus``).
        at_time: ``(frame_a, frame_b, t) -> frame`` for any t in (0, 1) where the method has it, else ``None``
            (a midpoint network: :func:`utils.video.interpolator.frames_between` reaches other times by halving).
        model: the Keras model behind a checkpoint's method (``None`` for the classical baselines).
        at_times: ``(frame_a, frame_b, times) -> [frame, ...]``: several t of one pair at once (one batch through
            the time model), else ``None``.
    """

    def __init__(self, name: str, midpoint: Frames, at_time: Callable[..., np.ndarray] | None = None,
                 model: keras.Model | None = None, at_times: Callable[..., list[np.ndarray]] | None = None):
        self.name, self.midpoint, self.at_time, self.model, self.at_times = name, midpoint, at_time, model, at_times

    def __call__(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        return self.midpoint(frame_a, frame_b)

    def __repr__(self) -> str:
        return f"Method({self.name!r}{', any t' if self.at_time is not None else ''})"


BASELINES: dict[str, Method] = {
    "average": Method("frame average", baselines.frame_average, at_time=baselines.frame_average),
    "dis": Method("DIS flow", baselines.dis_interpolate, at_time=baselines.dis_interpolate,
                  at_times=baselines.dis_at_times),
    "minterpolate": Method("minterpolate", baselines.minterpolate),
}


def load_model(path: str | Path) -> keras.Model:
    """Loads a ``.keras`` model saved by this repository.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a loadable Keras model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file not found: {path}. Train one with notebooks/04_training.ipynb.")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a broken file
        raise ValueError(f"Cannot load model {path}: expected a .keras file saved by utils ({error}).") from error


def load_method(spec: str | Path = paths.DEFAULT_CHECKPOINT, tile: int = tiling.DEFAULT_TILE,
                overlap: int = tiling.DEFAULT_OVERLAP, scale: float | str = 1.0, precision: str = "float32",
                ensemble: int | str = 1) -> Method:
    """The method ``spec`` names: a key of :data:`BASELINES`, or a ``.keras`` checkpoint.

    Args:
        spec: ``average``, ``dis``, ``minterpolate`` or a checkpoint path (relative to the current folder;
            the default, :data:`utils.paths.DEFAULT_CHECKPOINT`, to the repository).
        tile, overlap: tiling of large frames for a checkpoint (:func:`utils.models.tiling.tiled`).
        scale, precision, ensemble: a checkpoint's working resolution, arithmetic and views of each pair
            (:func:`model_method`); the defaults, full resolution in float32, one view, are what evaluation scores;
            the video command runs ``auto`` for all three.

    Raises:
        FileNotFoundError: for a missing checkpoint.
        ValueError: for a checkpoint that does not load.
    """
    if isinstance(spec, str) and spec in BASELINES:
        return BASELINES[spec]
    path = checkpoint_path(spec)
    return model_method(load_model(path), tile, overlap, name=method_label(path), scale=scale, precision=precision,
                        ensemble=ensemble)


def checkpoint_path(spec: str | Path) -> Path:
    """Where a checkpoint argument points: the default in the repository, any other path from the current folder."""
    return paths.resolve(spec) if str(spec) == paths.DEFAULT_CHECKPOINT else Path(spec)


def checkpoint_digests(checkpoints: Sequence[str | Path]) -> dict[str, str]:
    """``{method name: digest of the file}`` (:func:`utils.paths.digest`): which model files a result scored.

    Raises:
        FileNotFoundError: for a missing checkpoint.
    """
    found = [checkpoint_path(c) for c in checkpoints]
    for path in found:
        if not path.is_file():
            raise FileNotFoundError(f"Model file not found: {path}.")
    return {method_label(path): paths.digest(path) for path in found}


def load_methods(method_names: Sequence[str], checkpoints: Sequence[str | Path]) -> dict[str, Method]:
    """name -> :class:`Method` for the chosen baselines and one method per checkpoint, through :func:`load_method`.

    Args:
        method_names: any of ``model``, ``average``, ``dis``, ``minterpolate``.
        checkpoints: ``.keras`` files, used when ``model`` is among the methods; each becomes a method named
            after its file (:func:`method_label`).

    Raises:
        ValueError: for an unknown method name, ``model`` without checkpoints, or a checkpoint that does not load.
        FileNotFoundError: for a missing checkpoint.
    """
    methods = {}
    for name in method_names:
        if name not in METHOD_CHOICES:
            raise ValueError(f"Unknown method {name!r}: expected some of {', '.join(METHOD_CHOICES)}.")
        if name == "model" and not checkpoints:
            raise ValueError("Method 'model' needs at least one --checkpoint.")
        for method in [load_method(c) for c in checkpoints] if name == "model" else [BASELINES[name]]:
            methods[method.name] = method
    return methods


METHOD_CHOICES = ("model", *BASELINES)


def method_label(checkpoint: str | Path) -> str:
    """Display name of a checkpoint: ``mse.keras`` -> ``UNet mse``, ``flow_charbonnier.keras`` -> ``flow UNet
    charbonnier``, ``flow_time_corpus.keras`` -> ``time flow UNet corpus``."""
    stem = Path(checkpoint).stem
    if stem.startswith("flow_time_"):
        return f"time flow UNet {stem[len('flow_time_'):]}"
    if stem.startswith("flow_"):
        return f"flow UNet {stem[len('flow_'):]}"
    return f"UNet {stem[len('unet_'):]}" if stem.startswith("unet_") else f"UNet {stem}"


def model_method(model: keras.Model, tile: int = tiling.DEFAULT_TILE, overlap: int = tiling.DEFAULT_OVERLAP,
                 name: str | None = None, scale: float | str = 1.0, precision: str = "float32",
                 ensemble: int | str = 1) -> Method:
    """Wraps a UNet as a :class:`Method`, tiled for large frames (:func:`utils.models.tiling.tiled`).

    For the flow head the DIS prior flows are computed once on the whole frames (so tiles agree on
    the motion) and cut into tiles with the frames. The time-conditioned model (11 input channels) gets
    ``at_time``: any t directly, DIS's flows computed once per pair however many times are asked of it, and
    ``at_times``: several t of one pair in one batch.

    Args:
        scale: ``1`` (the network at full resolution: what evaluation scores), a share in (0, 1) or ``"auto"``
            (:func:`utils.models.scaled.working_scale`): a flow UNet then runs on the shrunk pair and its flows,
            mask and residual are enlarged to warp and blend the full frames (:mod:`utils.models.scaled`).
        precision: ``float32``, ``mixed_bfloat16`` or ``auto`` (:func:`utils.models.unet.with_precision`).
        ensemble: the time model's views of each pair averaged: 1, 2 (also reversed in time), 4 (also mirrored) or
            ``"auto"`` (by the frame's size and the scale: :func:`utils.models.ensemble.passes`).

    Raises:
        ValueError: for a scale below 1 with a model that has no flows, a bad scale, or more than one view of
            a model without the time input.
    """
    scale = scaled.check_scale(scale)
    ensemble = ensembles.check_ensemble(ensemble)
    if ensemble not in (1, ensembles.AUTO) and unet.input_channels(model) != 11:
        raise ValueError(f"{name or model.name} has no time input: --ensemble {ensemble} needs the time model.")
    network = unet.with_precision(model, precision)
    channels = unet.input_channels(model)
    align = tiling.padding_multiple(model)
    fields = scaled.Fields(network) if scale != 1.0 and unet.flow_blend(model) is not None else None
    if scale not in (1.0, scaled.AUTO) and fields is None:
        raise ValueError(f"{name or model.name} has no flows: --scale below 1 needs a flow UNet (use --scale 1).")
    predict = predictor(network)

    def run(inputs: np.ndarray) -> np.ndarray:
        return np.asarray(predict(inputs[None]))[0]

    def run_fields(inputs: np.ndarray) -> np.ndarray:
        return fields(inputs[None])[0]

    def shrunk(frame_a: np.ndarray, frame_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The pair the network sees and its share of the frame (the pair itself at 1)."""
        share = 1.0 if fields is None else scaled.working_scale(frame_a.shape[1], frame_a.shape[0], scale)
        if share == 1.0:
            return frame_a, frame_b, share
        size = scaled.small_size(frame_a.shape[1], frame_a.shape[0], share)
        return scaled.shrink(frame_a, size), scaled.shrink(frame_b, size), share

    def midpoint(frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        if channels == 11:
            return at_time(frame_a, frame_b, 0.5)
        small_a, small_b, share = shrunk(frame_a, frame_b)
        inputs = model_inputs(small_a, small_b, channels)[0]
        if share == 1.0:
            return np.clip(tiling.tiled(run, inputs, tile, overlap, align), 0.0, 1.0)
        return scaled.compose(frame_a, frame_b, tiling.tiled(run_fields, inputs, tile, overlap, align))

    last: dict = {}  # the last pair's (shrunk frames and) DIS flows: 24 -> 60 fps asks 2 or 3 times of one pair

    def pair(frame_a: np.ndarray, frame_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        if last.get("a") is not frame_a or last.get("b") is not frame_b:
            small_a, small_b, share = shrunk(frame_a, frame_b)
            flows = flow.dis_flows(small_a, small_b, parallel=True)  # the video command's: both cores
            last.update(a=frame_a, b=frame_b, small=(small_a, small_b, flows, share))
        return last["small"]

    def at_times(frame_a: np.ndarray, frame_b: np.ndarray, times: Sequence[float]) -> list[np.ndarray]:
        small_a, small_b, flows, share = pair(frame_a, frame_b)
        inputs = np.stack([time_inputs(small_a, small_b, flows, t) for t in times])
        views = ensembles.passes(frame_a.shape[1], frame_a.shape[0], share, ensemble)
        if views == 1:
            return viewed(frame_a, frame_b, inputs, share)
        return ensembles.averaged([[ensembles.unview(frame, view) for frame in viewed(
            *ensembles.view_pair(frame_a, frame_b, view), ensembles.view_inputs(inputs, view), share)]
            for view in range(views)])

    def viewed(frame_a: np.ndarray, frame_b: np.ndarray, inputs: np.ndarray, share: float) -> list[np.ndarray]:
        """The frames of one view: ``inputs`` the network's, ``frame_a`` and ``frame_b`` the full pair as it sees them."""
        whole = max(inputs.shape[1:3]) <= tile
        if share == 1.0:
            outputs = (np.asarray(predict(inputs)) if whole
                       else [tiling.tiled(run, x, tile, overlap, align) for x in inputs])
            return [np.clip(output, 0.0, 1.0) for output in outputs]
        if whole:  # the fields stay a tensor (never copied), the pair is made once for all its times
            compiling = scaled.prepare(frame_a.shape[:2], inputs.shape[1:3], fields.outputs)
            computed = fields.tensor(inputs)
            if compiling is not None:
                compiling.result()
            return scaled.compose(frame_a, frame_b, computed)
        return [scaled.compose(frame_a, frame_b, tiling.tiled(run_fields, x, tile, overlap, align)) for x in inputs]

    def at_time(frame_a: np.ndarray, frame_b: np.ndarray, t: float) -> np.ndarray:
        return at_times(frame_a, frame_b, [t])[0]

    timed = channels == 11
    return Method(name or model.name, midpoint, at_time if timed else None, model=model, at_times=at_times if timed else None)


def check_times(times: Sequence[float]) -> list[float]:
    """Validates times strictly between 0 (frame A) and 1 (frame B).

    Raises:
        InputError: naming the offending time.
    """
    for t in times:
        if not 0.0 < t < 1.0:
            raise video_io.InputError(f"--times: {t} is not strictly between 0 and 1 (0 is frame A, 1 frame B).")
    return [float(t) for t in times]


def midpoint_time(t: float) -> float:
    """The time a midpoint network reaches for ``t``: the nearest multiple of 1/64 inside (0, 1)."""
    steps = 2**MAX_LEVELS
    return min(max(round(t * steps), 1), steps - 1) / steps


def frames_between(method: Method, frame_a: np.ndarray, frame_b: np.ndarray,
                   times: Sequence[float]) -> dict[float, np.ndarray]:
    """Frames at the given ``times`` between ``frame_a`` (t=0) and ``frame_b`` (t=1).

    A method with an ``at_time(frame_a, frame_b, t)`` attribute (DIS, averaging) computes each time
    directly. Otherwise (a network trained for the midpoint) each time is reached by recursive midpoints,
    to the nearest multiple of 1/64 (:func:`midpoint_time`); only the midpoints some time needs are
    computed (3 calls for 1/4, 1/2 and 3/4).

    Returns:
        requested time -> ``uint8`` (H, W, 3) frame.
    """
    wanted = check_times(times)
    at_times = getattr(method, "at_times", None)
    if at_times is not None and wanted:  # several times of one pair in one batch (the time model)
        return {t: image_io.to_uint8(frame) for t, frame in zip(wanted, at_times(frame_a, frame_b, wanted))}
    at_time = getattr(method, "at_time", None)
    if at_time is not None:
        return {t: image_io.to_uint8(at_time(frame_a, frame_b, t)) for t in wanted}
    cache: dict[tuple[float, float], np.ndarray] = {}

    def at(t: float, lo: float, hi: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        middle_time = 0.5 * (lo + hi)
        key = (lo, hi)
        if key not in cache:
            cache[key] = image_io.to_uint8(method(a, b))
        middle = cache[key]
        if math.isclose(t, middle_time):
            return middle
        return at(t, lo, middle_time, a, middle) if t < middle_time else at(t, middle_time, hi, middle, b)

    return {t: at(midpoint_time(t), 0.0, 1.0, frame_a, frame_b) for t in wanted}


def predictor(model: keras.Model):
    """Returns a traced inference function for (batch, H, W, channels) float inputs of any size.

    One graph serves every frame size (the spatial dimensions are left unknown), so a loop over
    clips of different sizes does not retrace.
    """
    signature = [tf.TensorSpec((None, None, None, unet.input_channels(model)), tf.float32)]
    function = tf.function(lambda inputs: model(inputs, training=False), input_signature=signature)
    function.channels = unet.input_channels(model)
    return function


def time_inputs(frame1: np.ndarray, frame3: np.ndarray, flows: np.ndarray, t: float) -> np.ndarray:
    """The time model's input (H, W, 11) from two ``uint8`` frames, their :func:`utils.flow.dis_flows` and t."""
    stacked = np.concatenate([frame1, frame3], axis=-1).astype(np.float32) / 255.0
    return np.concatenate([stacked, flow.time_channels(flows, t)], axis=-1)


def model_inputs(frame1: np.ndarray, frame3: np.ndarray, channels: int = 6, t: float = 0.5) -> np.ndarray:
    """Stacks two ``uint8`` frames into one network input (1, H, W, channels), floats in [0, 1].

    With ``channels=10`` (the flow head) the DIS prior flows ``F_t->1`` and ``F_t->3`` (pixels) at t = 1/2
    follow the six colour channels; with ``channels=11`` (the time model) DIS's flows ``F_1->3``, ``F_3->1``
    and a plane of ``t``.
    """
    if frame1.shape != frame3.shape:
        raise ValueError(f"Expected two frames of one size, got {frame1.shape} and {frame3.shape}.")
    if channels == 11:
        return time_inputs(frame1, frame3, flow.dis_flows(frame1, frame3), t)[None]
    stacked = np.concatenate([frame1, frame3], axis=-1).astype(np.float32) / 255.0
    if channels == 10:
        stacked = np.concatenate([stacked, flow.flow_prior(frame1, frame3)], axis=-1)
    elif channels != 6:
        raise ValueError(f"Expected a model with 6, 10 or 11 input channels, got {channels}.")
    return stacked[None]
