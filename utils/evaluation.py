"""PSNR and SSIM of interpolation methods on held-out triplets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from utils import data, losses, paths

Method = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (frame1, frame3) uint8 -> float middle in [0, 1]


def frame_metrics(truth: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """PSNR (dB) and SSIM of one predicted frame against the truth (both float in [0, 1] or uint8)."""
    truth = data.to_float(truth) if truth.dtype == np.uint8 else truth
    prediction = data.to_float(prediction) if prediction.dtype == np.uint8 else prediction
    return {
        "psnr": float(losses.psnr(truth[None], prediction[None])[0]),
        "ssim": float(losses.ssim(truth[None], prediction[None])[0]),
    }


def evaluate_methods(
    methods: dict[str, Method],
    root: str | Path,
    triplet_ids: Sequence[str],
    group_of: Callable[[str], str] | None = None,
) -> dict:
    """Runs every method on every triplet and summarises PSNR, SSIM and time per frame.

    Args:
        methods: name -> function (frame1, frame3) -> middle frame.
        root: data root in the Vimeo90K layout.
        triplet_ids: the triplets to evaluate.
        group_of: maps a triplet id to a group name (e.g. its clip) for per-group means.

    Returns:
        ``{"triplets": n, "methods": {name: {"psnr", "ssim", "ms_per_frame",
        "groups": {group: {"psnr", "ssim", "triplets"}}}}, "per_triplet": [...]}``.
    """
    if not triplet_ids:
        raise ValueError(f"evaluate_methods got no triplets to evaluate under {root}.")
    group_of = group_of or (lambda triplet_id: triplet_id.split("/")[0])
    records = []
    seconds = {name: 0.0 for name in methods}
    for triplet_id in triplet_ids:
        frame1, truth, frame3 = data.load_triplet(root, triplet_id)
        for name, method in methods.items():
            start = time.perf_counter()
            prediction = method(frame1, frame3)
            seconds[name] += time.perf_counter() - start
            records.append({"triplet": triplet_id, "group": group_of(triplet_id), "method": name,
                            **frame_metrics(truth, prediction)})
    summary = {}
    for name in methods:
        mine = [r for r in records if r["method"] == name]
        groups = {}
        for group in dict.fromkeys(r["group"] for r in mine):
            members = [r for r in mine if r["group"] == group]
            groups[group] = {"psnr": float(np.mean([r["psnr"] for r in members])),
                             "ssim": float(np.mean([r["ssim"] for r in members])),
                             "triplets": len(members)}
        summary[name] = {"psnr": float(np.mean([r["psnr"] for r in mine])),
                         "ssim": float(np.mean([r["ssim"] for r in mine])),
                         "ms_per_frame": 1000.0 * seconds[name] / len(triplet_ids),
                         "groups": groups}
    return {"triplets": len(triplet_ids), "methods": summary, "per_triplet": records}


def results_table(summary: dict, groups: Sequence[str] | None = None) -> str:
    """Formats :func:`evaluate_methods` output as a Markdown table (PSNR dB / SSIM)."""
    methods = summary["methods"]
    groups = list(groups) if groups is not None else list(next(iter(methods.values()))["groups"])
    header = "| method | " + " | ".join(f"{g} PSNR / SSIM" for g in groups) + " | mean PSNR / SSIM |"
    lines = [header, "|" + "---|" * (len(groups) + 2)]
    for name, result in methods.items():
        cells = [f"{result['groups'][g]['psnr']:.2f} / {result['groups'][g]['ssim']:.4f}" for g in groups]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {result['psnr']:.2f} / {result['ssim']:.4f} |")
    return "\n".join(lines)


def save_json(payload: dict, path: str | Path) -> Path:
    """Writes JSON atomically (temporary file, then rename); returns the path."""
    with paths.atomic_target(path) as temporary:
        temporary.write_text(json.dumps(payload, indent=1))
    return Path(path)


def load_json(path: str | Path) -> dict:
    """Reads a JSON file, with a clear error when it is missing or broken."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"JSON file not found: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"Cannot parse {path}: expected JSON ({error}).") from error
