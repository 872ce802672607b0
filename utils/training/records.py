"""Records of long runs: where each run stands, which runs continue which (warm starts), and the CPU-hours
behind a run's weights, read from the committed ``state.json`` files and probe records."""

from __future__ import annotations

import json
from pathlib import Path

from utils import paths
from utils.training import run_state
from utils.training.run_state import RunConfig, RunState

PROBES = "results/training/probes"  # state.json of short runs kept for their curves (no weights)


TIME_PROBES = "results/training/probes_time"  # ... of the time model's, each started from the shipped one's weights


def hours_behind(record: dict) -> float:
    """CPU-hours behind a shipped model's weights (its record, ``results/models/<name>.json``): the run's own hours
    at the shipped step plus those of the runs it was warm-started from (for a run's state:
    :attr:`utils.training.run_state.RunState.hours_behind`)."""
    start = record.get("warm_start") or {}
    return record["cpu_hours"] + start.get("cpu_hours", 0.0) + start.get("cpu_hours_before", 0.0)


def shipped_runs(models: str | Path = "results/models") -> dict[str, str]:
    """Run name (``flow``, ``unet``, ``flow_time``) -> the folder under ``results/training`` whose best weights are
    shipped as ``<run>_corpus.keras``, read from the models' records."""
    found = {}
    for model in run_state.RUNS:
        record = paths.resolve(models) / f"{model}_corpus.json"
        if record.is_file():
            found[model] = Path(json.loads(record.read_text())["run"]).name
    return found


def continuations(root: str | Path = "results/training") -> dict[str, list[tuple[str, str, RunState]]]:
    """Runs under ``root`` besides :data:`RUNS` that continue one of them: the run -> [(folder's name, label,
    state), ...] in the order they started. A run warm-started from one of :data:`RUNS` continues it (the time
    model's flow correction continues ``flow_time``), and so does a run warm-started from such a run. The label
    says what the run changed from the weights it started with (a flow correction, a level, the crops, a teacher)."""
    root, states = paths.resolve(root), {}
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.name not in run_state.RUNS and folder.is_dir() and (state := run_state.read_state(folder)) is not None \
                and state.warm_start is not None:
            states[folder.name] = state
    found: dict[str, list] = {}
    for name, state in states.items():
        chain, parent = [name], Path(state.warm_start.weights).parent.name
        while parent in states and parent not in chain:
            chain.append(parent)
            parent = Path(states[parent].warm_start.weights).parent.name
        if parent in run_state.RUNS:
            donor = states.get(chain[1]) if len(chain) > 1 else run_state.read_state(root / parent)
            found.setdefault(parent, []).append((state.hours_before, len(chain), name,
                                                 _changes(name, state.config, donor.config if donor else None), state))
    return {parent: [entry[2:] for entry in sorted(entries, key=lambda e: e[:3])] for parent, entries in found.items()}


def _changes(name: str, config: RunConfig, before: RunConfig | None) -> str:
    """What a warm-started run changed from its donor's configuration, in words."""
    before = before or config
    changes = []
    if config.flow_update and not before.flow_update:
        changes.append("with a flow correction")
    if config.base_filters != before.base_filters:
        changes.append(f"{config.base_filters} filters")
    if config.depth != before.depth:
        changes.append(f"{config.depth} levels")
    if tuple(config.crop) != tuple(before.crop):
        changes.append(f"{config.crop[0]}x{config.crop[1]} crops")
    if config.source_balance and not before.source_balance:
        changes.append(f"sources balanced {config.source_balance:g}")
    if config.distill and not before.distill:
        changes.append(f"flow teacher x{config.distill:g}")
    if config.cost_radius and not before.cost_radius:
        changes.append(f"a cost volume (radius {config.cost_radius})")
    if config.loss != before.loss:
        changes.append(f"{config.loss} loss")
    if config.scaled_share != before.scaled_share:
        changes.append(f"{config.scaled_share:.0%} of batches at half size")
    if config.detail_head and not before.detail_head:
        changes.append("a detail head" + (" trained alone" if config.detail_only else ""))
    if config.synthetic_fraction != before.synthetic_fraction:
        changes.append(f"{config.synthetic_fraction:.0%} synthetic")
    return ", ".join(changes) or f"continued as {name}"


def status(root: str | Path = "results/training") -> list[str]:
    """One line per run under ``root``: steps, CPU-hours, best validation PSNR against DIS and averaging."""
    lines = []
    states = {model: run_state.read_state(paths.resolve(root) / model) for model in run_state.RUNS}
    states.update({name: state for chain in continuations(root).values() for name, _, state in chain})
    for model, state in states.items():
        if state is None:
            lines.append(f"{model}: not started")
            continue
        best = state.best or run_state.Best(step=0, val_psnr=float("nan"), cpu_hours=0.0)
        lines.append(f"{model}: {state.step} steps, {state.cpu_hours:.2f} CPU-h, best validation "
                     f"{best.val_psnr:.3f} dB at step {best.step} (DIS {best.val_psnr - state.baselines['dis']:+.3f}"
                     f", average {best.val_psnr - state.baselines['average']:+.3f}), lr {state.learning_rate:.1e}")
    return lines
