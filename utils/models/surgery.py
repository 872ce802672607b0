"""Warm starts by weight surgery: a new network begins exactly as a trained one (:func:`warm_start_model`).

Heads are mapped by name, a level more starts as the identity, a wider UNet keeps the donor's weights on the
donor's channels and lets the new channels in through zero weights.
"""

from __future__ import annotations

import keras
import numpy as np

from utils.models import unet


def warm_start_model(model: keras.Model, donor: keras.Model) -> None:
    """Copies a flow UNet's weights into a flow UNet of the same width and depth with more inputs or heads.

    The first convolution gets zero weights for the inputs the donor lacks (the time model's t and DIS's
    disagreement); the heads convolution gets zero weights for the heads the donor lacks (a flow
    correction). So the model starts as exactly the donor where the donor is defined: a time model warm-started
    from a 10-channel flow UNet is that UNet at t = 1/2 (and DIS's weights 1 - t and t elsewhere in its blend);
    a time model with a flow correction, warm-started from a time model, is that model at every t; a detail head
    the donor lacks, or has of another layout (:func:`utils.models.unet.build_flow_unet`), keeps its zero weights,
    so the half-size path starts as the donor's too.

    A model one level deeper than the donor also starts as the donor: its new bottom level (``down{depth-1}``)
    keeps its random start, and the new decoder block above it (``dec{depth-2}``) starts as the identity on
    its skip input with zero weights on the bottom's, so the level it replaces passes through unchanged
    (ReLU outputs are non-negative, so a ReLU convolution with an identity kernel returns them). Training
    then moves those zero weights and lets the coarser level in: a receptive field twice as large.
    """
    donors = {layer.name: layer for layer in donor.layers if layer.weights}
    blends = unet.flow_blend(model), unet.flow_blend(donor)
    depth, grown = unet_depth(model), unet_depth(model) - unet_depth(donor)
    if grown not in (0, 1):
        raise ValueError(f"warm start: the model has {depth} levels, the donor {depth - grown} "
                         "(a warm start adds one level at most).")
    widths = unet_width(model), unet_width(donor)
    if widths[0] != widths[1]:
        _widen(model, donor, donors, widths, grown, blends)
        return
    for layer in model.layers:
        if not layer.weights:
            continue
        source = donors.get(layer.name)
        if layer.name == "detail" and not _same_shapes(layer, source):
            continue  # a detail head the donor lacks (or has of another layout): zero, the model starts as the donor
        if source is None and grown and layer.name.startswith(f"down{depth - 1}_"):
            continue  # the new bottom level: random, its output enters through zero weights below
        if source is None and grown and layer.name.startswith(f"dec{depth - 2}_"):
            layer.set_weights(_identity_on_skip(*layer.get_weights()))
            continue
        if source is None:
            raise ValueError(f"warm start: the donor has no layer {layer.name!r} (not the same size?).")
        if layer.name == "heads" and None not in blends:
            weights = [_grow_heads(mine, theirs, *blends) for mine, theirs in zip(layer.get_weights(), source.get_weights())]
        else:
            weights = [_grow_inputs(layer.name, mine, theirs) for mine, theirs in zip(layer.get_weights(), source.get_weights())]
        layer.set_weights(weights)


def _same_shapes(layer: keras.layers.Layer, source: keras.layers.Layer | None) -> bool:
    """Whether ``source`` exists and its weights have the shapes of ``layer``'s."""
    return source is not None and [w.shape for w in layer.weights] == [w.shape for w in source.weights]


def unet_width(model: keras.Model) -> int:
    """The filters of a UNet's first level (``down0_conv1``): its width, doubled at every level below."""
    return int(model.get_layer("down0_conv1").get_weights()[0].shape[-1])


def _input_segments(model: keras.Model, name: str) -> list[int]:
    """The channels of each part a convolution's input joins (decoder blocks: upsampled and skip; the cost
    volume's level: pooled features and costs), or its one input's channels."""
    joined = {f"down{unet.COST_LEVEL}_conv1": "with_cost"}.get(name)
    if name.startswith("dec") and name.endswith("_conv1"):
        joined = name.replace("dec", "skip", 1).removesuffix("_conv1")
    if joined is not None and any(layer.name == joined for layer in model.layers):
        return [int(tensor.shape[-1]) for tensor in model.get_layer(joined).input]
    return [int(model.get_layer(name).get_weights()[0].shape[2])]


def _widen(model: keras.Model, donor: keras.Model, donors: dict, widths: tuple[int, int], grown: int,
           blends) -> None:
    """:func:`warm_start_model` into a wider UNet: each convolution's donor channels keep the donor's weights, the
    new channels' weights into them are zero (so the wider model starts as the donor), and the new channels keep
    their random start (they reach the output once training moves those zeros)."""
    other_heads = None not in blends and (blends[0].head_names(), blends[0].mask_gain) != (
        blends[1].head_names(), blends[1].mask_gain)
    if widths[0] < widths[1] or grown or other_heads:
        raise ValueError(f"warm start: a wider model ({widths[0]} filters, donor {widths[1]}) starts from a donor "
                         "of the same depth, heads and mask gain, narrower.")
    for layer in model.layers:
        if not layer.weights or (layer.name == "detail" and not _same_shapes(layer, donors.get(layer.name))):
            continue
        if layer.name not in donors:
            raise ValueError(f"warm start: the donor has no layer {layer.name!r} (not the same size?).")
        (kernel, bias), (theirs, their_bias) = layer.get_weights(), donors[layer.name].get_weights()
        mine_parts, their_parts = _input_segments(model, layer.name), _input_segments(donor, layer.name)
        their_parts += [0] * (len(mine_parts) - len(their_parts))  # a part the donor lacks (the costs) gets zeros
        if len(their_parts) != len(mine_parts) or any(t > m for t, m in zip(their_parts, mine_parts)):
            raise ValueError(f"warm start: {layer.name} joins parts of {mine_parts} channels, the donor {their_parts}.")
        rows = np.concatenate([start + np.arange(size) for start, size in
                               zip(np.cumsum([0] + mine_parts[:-1]), their_parts)]).astype(int)
        outputs = theirs.shape[-1]
        kernel[:, :, :, :outputs] = 0.0
        kernel[:, :, rows, :outputs] = theirs
        bias[:outputs] = their_bias
        layer.set_weights([kernel, bias])


def unet_depth(model: keras.Model) -> int:
    """The number of levels of a UNet built by :func:`_unet_body` (its ``down<k>`` blocks)."""
    return sum(1 for layer in model.layers if layer.name.startswith("down") and layer.name.endswith("_conv1"))


def _identity_on_skip(kernel: np.ndarray, bias: np.ndarray) -> list[np.ndarray]:
    """A 3x3 kernel (3, 3, inputs, filters) passing its last ``filters`` inputs (the skip) through unchanged."""
    filters = kernel.shape[3]
    identity = np.zeros_like(kernel)
    identity[1, 1, kernel.shape[2] - filters:] = np.eye(filters, dtype=kernel.dtype)
    return [identity, np.zeros_like(bias)]


def _grow_inputs(name: str, mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """``theirs``, or a first kernel (3, 3, inputs, filters) with zero weights for the extra inputs."""
    if mine.shape == theirs.shape:
        return theirs
    if mine.ndim != 4 or mine.shape[:2] + mine.shape[3:] != theirs.shape[:2] + theirs.shape[3:] \
            or mine.shape[2] < theirs.shape[2]:
        raise ValueError(f"warm start: {name} has weights {mine.shape}, the donor {theirs.shape}.")
    grown = np.zeros(mine.shape, mine.dtype)
    grown[:, :, :theirs.shape[2]] = theirs
    return grown


def _grow_heads(mine: np.ndarray, theirs: np.ndarray, blend: unet.FlowBlend, donor_blend: unet.FlowBlend) -> np.ndarray:
    """The heads' kernel or bias: each head the donor has copied to its channels here, the others zero."""
    if mine.shape[:-1] != theirs.shape[:-1]:
        raise ValueError(f"warm start: heads has weights {mine.shape}, the donor {theirs.shape}.")
    missing = set(donor_blend.head_names()) - set(blend.head_names())
    if missing or donor_blend.mask_gain != blend.mask_gain:
        raise ValueError(f"warm start: the donor's heads ({', '.join(donor_blend.head_names())}, mask gain "
                         f"{donor_blend.mask_gain:g}) do not fit ({', '.join(blend.head_names())}, {blend.mask_gain:g}).")

    grown, here = np.zeros(mine.shape, mine.dtype), blend.head_channels()
    for head, channels in donor_blend.head_channels().items():
        grown[..., here[head]] = theirs[..., channels]
    return grown
