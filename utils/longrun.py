"""Hours of resumable training on the real-footage corpus, decided by validation only.

    python -m utils.longrun --model flow --hours 2      # or: make train MODEL=flow HOURS=2
    python -m utils.longrun --status

Runs: ``flow`` (the flow-guided UNet at t = 1/2), ``unet`` (the direct-synthesis UNet, residual head) and
``flow_time`` (the time-conditioned flow UNet: any t in (0, 1); a new run starts from the ``flow`` run's
best weights, see :func:`utils.model.warm_start_model`, and is validated at t = 1/4, 1/2 and 3/4).
``--flow-update`` gives a new run a flow-correction head (started at zero, so a warm start from a run
without one begins exactly where that run ended); ``--depth`` one level more than the weights it starts
from (also started as them), ``--crop`` and ``--batch-size`` other crops; ``--distill W`` adds a flow
teacher to the loss (:func:`utils.losses.flow_distillation`: DIS from the true frame, where it beats the prior);
``--cost-volume R`` lets the UNet read how well the frames match around its flows
(:class:`utils.model.CostVolume`, entering through zero weights, so a warm start begins where its donor ended);
``--base-filters N`` a wider UNet, which a warm start from a narrower run also begins as that run;
``--loss psnr`` trains on minus each image's PSNR (:func:`utils.losses.psnr_loss`), the score that
validation ranks by, instead of an error that the batch's hardest crops rule.

Training runs in chunks (400 steps by default). After each chunk the network is scored on the fixed
validation set of :func:`utils.sampler.validation_set` (real footage, whole shots that training never
sees), and the run's state is written atomically under ``RUN_DIR`` (default
``results/training/<model>/``):

- ``state.json``: configuration, step, learning rate, CPU and wall hours, the validation history and
  the best step; what a later session (on another machine) needs besides the two weight files;
- ``latest.weights.h5``: the network and Adam's moments after the last chunk (Keras saves a compiled
  model's optimizer with its weights);
- ``best.weights.h5``: the network alone at its best validation PSNR.
- ``ema.weights.h5`` (with ``--ema``): the moving average of the weights, which validation then judges (not
  committed: without it a resumed run starts the average again from ``latest.weights.h5``).

A killed run loses at most one chunk: run the same command again and it continues (same example
stream, same learning rate). The learning rate halves when validation has not improved for
``patience`` chunks. TensorBoard curves go to ``runs/longrun/<model>/``. :func:`promote` ships the best
weights as ``results/models/<model>_corpus.keras`` only when their validation PSNR beats the shipped
model's on the same validation set; the test clips play no part in any of it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from utils import paths
from utils.pipeline import LONG_RUN_LOSS_NAMES  # utils.losses' names, without importing TensorFlow for --help

RUNS = ("flow", "unet", "flow_time")
VALIDATION_TIMES = (0.25, 0.5, 0.75)  # the time model's validation targets (frames i+1, i+2, i+3 of i .. i+4)
PROBES = "results/training/probes"  # state.json of short runs kept for their curves (no weights)
TIME_PROBES = "results/training/probes_time"  # ... of the time model's, each started from the shipped one's weights


@dataclass
class RunConfig:
    """What a long run trains and how (stored in ``state.json``; a resumed run keeps it)."""

    model: str = "flow"
    base_filters: int = 16
    depth: int = 4
    mask_gain: float = 16.0
    flow_update: bool = False
    initializer: str = "he_normal"
    loss: str = "charbonnier"
    learning_rate: float = 3e-4
    min_learning_rate: float = 2e-5
    patience: int = 4
    batch_size: int = 16
    crop: tuple[int, int] = (128, 128)
    chunk_steps: int = 400
    synthetic_fraction: float = 0.3
    hard_fraction: float = 0.5
    precision: str = "auto"
    seed: int = 0
    validation_count: int = 192
    time_input: bool = False
    warm_start: str = ""  # a new run's starting weights (the flow run's best.weights.h5 for flow_time)
    ema: float = 0.0  # > 0: validate and keep an exponential moving average of the weights (decay per step)
    distill: float = 0.0  # > 0: weight of the flow teacher's term (utils.losses.flow_distillation) in the loss
    source_balance: float = 0.0  # 0: triplets equally likely; 1: sources equally likely (sampler.training_dataset)
    cost_radius: int = 0  # > 0: a cost volume of this radius joins the flow UNet (utils.model.CostVolume)

    @classmethod
    def for_model(cls, model: str, **overrides) -> "RunConfig":
        """The default configuration of ``flow`` (flow-guided UNet 16/4), ``unet`` (residual UNet 16/5) or
        ``flow_time`` (the flow UNet with t as an input, warm-started from the flow run)."""
        if model not in RUNS:
            raise ValueError(f"Unknown model {model!r}: expected one of {', '.join(RUNS)}.")
        if model == "unet" and overrides.get("flow_update"):
            raise ValueError("--flow-update: the unet run has no flows to correct (a flow or flow_time run).")
        if model == "unet" and overrides.get("cost_radius"):
            raise ValueError("--cost-volume: the unet run has no flows to match around (a flow or flow_time run).")
        if overrides.get("distill") and not overrides.get("flow_update"):
            raise ValueError("--distill: teaches a flow correction; give --flow-update too (a flow or flow_time run).")
        defaults = {"flow": {}, "unet": {"depth": 5, "synthetic_fraction": 0.1},
                    "flow_time": {"time_input": True, "learning_rate": 1e-4,
                                  "warm_start": "results/training/flow/best.weights.h5"}}[model]
        return cls(model=model, **{**defaults, **overrides})


def build_network(config: RunConfig):
    """The Keras model a run trains (float policy set by the caller)."""
    from utils import model as model_lib

    if config.model in ("flow", "flow_time"):
        return model_lib.build_flow_unet(config.base_filters, config.depth, mask_gain=config.mask_gain,
                                         name=f"{config.model}_unet_corpus", initializer=config.initializer,
                                         flow_update=config.flow_update, time_input=config.time_input,
                                         cost_radius=config.cost_radius)
    return model_lib.build_unet(config.base_filters, config.depth, "residual", name="unet_corpus",
                                initializer=config.initializer)


def psnr_per_image(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """PSNR (dB) of each image of a batch, predictions clipped to [0, 1]."""
    error = np.mean((np.clip(prediction, 0.0, 1.0) - truth) ** 2, axis=tuple(range(1, truth.ndim)))
    return 10.0 * np.log10(1.0 / np.maximum(error, 1e-10))


class Validation:
    """The fixed validation set as network inputs, with the baselines' scores on it (at each triplet's t)."""

    def __init__(self, validation: dict, flow_prior: bool):
        from utils import data

        frames, flows = validation["frames"], validation["flows"]
        inputs, target = data.split_inputs(frames, flows if flow_prior else None)
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
    from utils import baselines

    return baselines.dis_interpolate(frames[0], frames[2], float(t))[None]


# ----------------------------------------------------------------------------
# State on disk
# ----------------------------------------------------------------------------
def _save_weights(network, path: Path) -> None:
    temporary = path.with_name(f".tmp-{path.name}")  # Keras wants the name to end in .weights.h5
    network.save_weights(str(temporary))
    os.replace(temporary, path)


def read_state(run_dir: str | Path) -> dict | None:
    """``state.json`` of a run, or ``None`` before its first chunk."""
    path = paths.resolve(run_dir) / "state.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _write_state(run_dir: Path, state: dict) -> None:
    with paths.atomic_target(run_dir / "state.json") as temporary:
        temporary.write_text(json.dumps(state, indent=1) + "\n")


def _config_from_state(state: dict) -> RunConfig:
    config = dict(state["config"])
    config["crop"] = tuple(config["crop"])
    return RunConfig(**config)


# ----------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------
def train(model: str = "flow", hours: float = 1.0, run_dir: str | Path | None = None, data_dir: str | Path = "data",
          max_steps: int | None = None, corpus_=None, log=None, **overrides) -> dict:
    """Trains (or continues) a long run for ``hours`` of CPU time (process time) or ``max_steps`` steps.

    Args:
        model: ``flow`` or ``unet``.
        hours: CPU-hours to add in this call.
        run_dir: where the state lives (default ``results/training/<model>``).
        data_dir: the corpus's parent folder.
        max_steps: stop at this total step count (tests).
        corpus_: a :class:`utils.sampler.Corpus` (default: the one under ``data_dir``).
        log: gets one line per chunk (default: printed and flushed).
        overrides: :class:`RunConfig` fields for a new run; on a resumed run only ``learning_rate``,
            ``chunk_steps``, ``patience``, ``synthetic_fraction``, ``ema`` and ``source_balance`` may change
            (recorded in the state).

    Returns:
        The final state.
    """
    import keras
    import tensorflow as tf

    from utils import losses, sampler, training
    from utils import model as model_lib

    log = log or (lambda line: print(line, flush=True))  # flushed: the lines reach a pipe (tee) or a log file at once
    run_dir = paths.resolve(run_dir or f"results/training/{model}")
    state = read_state(run_dir)
    if state is None:
        config = RunConfig.for_model(model, **overrides)
        state = {"config": asdict(config), "step": 0, "learning_rate": config.learning_rate, "cpu_hours": 0.0,
                 "wall_hours": 0.0, "best": None, "history": [], "config_changes": []}
    else:
        config = _config_from_state(state)
        if config.model != model:
            raise ValueError(f"{run_dir} holds a {config.model!r} run, not {model!r}.")
        changeable = {"learning_rate", "chunk_steps", "patience", "synthetic_fraction", "ema", "source_balance"}
        for key, value in overrides.items():
            if key not in changeable:
                raise ValueError(f"{key} cannot change on a resumed run (only {', '.join(sorted(changeable))}).")
            if key == "learning_rate":  # a new rate gets its patience before validation may halve it
                state["learning_rate"], state["lr_changed_at"] = value, state["step"]
            setattr(config, key, value)
            state["config"][key] = value
            state["config_changes"].append({"step": state["step"], key: value})

    if not 0.0 <= config.synthetic_fraction <= 1.0:
        raise ValueError(f"synthetic_fraction must be in [0, 1] (a share of the examples), got {config.synthetic_fraction}.")
    run_dir.mkdir(parents=True, exist_ok=True)
    corpus_ = corpus_ or sampler.Corpus(data_dir)
    flow_prior = config.model == "flow"
    times = VALIDATION_TIMES if config.time_input else None
    validation = Validation(sampler.validation_set(corpus_, config.validation_count, times=times),
                            flow_prior or config.time_input)
    if state.get("validation_digest") not in (None, validation.digest):
        log(f"note: the validation set changed ({state['validation_digest']} -> {validation.digest}); "
            "best scores before this point are not comparable")
        state["best"] = None
    state["validation_digest"] = validation.digest
    state["baselines"] = validation.baselines

    policy = training.configure_precision(config.precision)
    network = build_network(config)
    loss = losses.get_loss(config.loss)
    trainer = network  # what train_on_batch sees: with --distill, a view that also outputs the flows
    if config.distill:
        trainer, loss = model_lib.with_flows(network), losses.flow_distillation(loss, config.distill)
    optimizer = keras.optimizers.Adam(state["learning_rate"])
    trainer.compile(optimizer=optimizer, loss=loss, jit_compile=False)
    export = build_network(config)  # an uncompiled twin: the best weights are saved without Adam's moments
    if state["step"] > 0:
        optimizer.build(trainer.trainable_variables)  # so that load_weights restores Adam's moments too
        trainer.load_weights(str(run_dir / "latest.weights.h5"))
        optimizer.learning_rate.assign(state["learning_rate"])
    elif config.warm_start:
        state["warm_start"] = _warm_start(network, config)
    # after the weights are loaded: a run that turns the average on starts it from where the network is; the
    # saved average continues only if the last chunk kept it (else it is stale or absent)
    kept = bool(state["history"]) and "val_psnr_raw" in state["history"][-1]
    average = WeightAverage(network, config.ema, run_dir / "ema.weights.h5" if kept else None, export) \
        if config.ema else None
    dataset = sampler.training_dataset(corpus_, config.batch_size, tuple(config.crop), flow_prior, config.seed,
                                       start=state["step"] * config.batch_size,
                                       synthetic_fraction=config.synthetic_fraction,
                                       hard_fraction=config.hard_fraction, time_input=config.time_input,
                                       teacher=bool(config.distill), source_balance=config.source_balance)
    writer = tf.summary.create_file_writer(str(paths.resolve("runs/longrun") / config.model))
    budget_end = time.process_time() + hours * 3600.0
    log(f"{config.model}: step {state['step']}, lr {state['learning_rate']:.2e}, {policy}, "
        f"validation {len(validation.target)} triplets (DIS {validation.baselines['dis']:.3f} dB, "
        f"average {validation.baselines['average']:.3f} dB)")
    if state["step"] == 0 and not state["history"]:  # the starting point (DIS, averaging, a warm start): the first best
        score = round(validation.score(network), 4)  # (the average starts as the network itself)
        state["history"].append({"step": 0, "cpu_hours": 0.0, "wall_hours": 0.0, "train_loss": None,
                                 "val_psnr": score, "learning_rate": state["learning_rate"]})
        export.set_weights(network.get_weights())
        _save_weights(export, run_dir / "best.weights.h5")
        state["best"] = {"step": 0, "val_psnr": score, "cpu_hours": 0.0}
        _write_state(run_dir, state)  # a later call at step 0 starts afresh (no latest weights yet)
    iterator = iter(dataset)
    while time.process_time() < budget_end and (max_steps is None or state["step"] < max_steps):
        steps = config.chunk_steps if max_steps is None else min(config.chunk_steps, max_steps - state["step"])
        cpu0, wall0 = time.process_time(), time.perf_counter()
        losses_seen = []
        for _ in range(steps):
            inputs, target = next(iterator)
            losses_seen.append(float(trainer.train_on_batch(inputs, target)))
            if average is not None:
                average.update()
        score = validation.score(network)
        if average is not None:  # the average is what validation judges, keeps and ships; the raw score is logged
            average.load_into(export)
            raw, score = score, validation.score(export)
        state["step"] += steps
        state["cpu_hours"] += (time.process_time() - cpu0) / 3600.0
        state["wall_hours"] += (time.perf_counter() - wall0) / 3600.0
        entry = {"step": state["step"], "cpu_hours": round(state["cpu_hours"], 4),
                 "wall_hours": round(state["wall_hours"], 4), "train_loss": float(np.mean(losses_seen)),
                 "val_psnr": round(score, 4), "learning_rate": state["learning_rate"],
                 **({"val_psnr_raw": round(raw, 4)} if average is not None else {})}
        state["history"].append(entry)
        improved = state["best"] is None or score > state["best"]["val_psnr"]
        if improved:
            if average is None:  # (else export holds the average already)
                export.set_weights(network.get_weights())
            _save_weights(export, run_dir / "best.weights.h5")
            state["best"] = {"step": state["step"], "val_psnr": round(score, 4), "cpu_hours": entry["cpu_hours"]}
        elif state["step"] - state["best"]["step"] >= config.patience * config.chunk_steps and \
                state["learning_rate"] > config.min_learning_rate and \
                state["step"] - state.get("lr_changed_at", 0) >= config.patience * config.chunk_steps:
            state["learning_rate"] = max(state["learning_rate"] / 2.0, config.min_learning_rate)
            state["lr_changed_at"] = state["step"]
            optimizer.learning_rate.assign(state["learning_rate"])
        _save_weights(trainer, run_dir / "latest.weights.h5")
        if average is not None:
            _save_weights(export, run_dir / "ema.weights.h5")
        _write_state(run_dir, state)
        with writer.as_default(step=state["step"]):
            tf.summary.scalar("train_loss", entry["train_loss"])
            tf.summary.scalar("val_psnr", score)
            tf.summary.scalar("val_psnr_minus_dis", score - validation.baselines["dis"])
            tf.summary.scalar("learning_rate", state["learning_rate"])
        log(f"{config.model} step {state['step']}: loss {entry['train_loss']:.4f}, validation {score:.3f} dB "
            f"(DIS {score - validation.baselines['dis']:+.3f}, average {score - validation.baselines['average']:+.3f})"
            f"{' best' if improved else ''}, lr {state['learning_rate']:.1e}, {state['cpu_hours']:.2f} CPU-h")
    return state


class WeightAverage:
    """An exponential moving average of a network's weights, ``a <- d a + (1 - d) w`` after every step.

    At a learning rate's plateau the weights wander around a minimum with the noise of each batch; their
    average sits nearer its centre and usually scores better than any single step (Polyak averaging; the
    EMA of many image-restoration trainings). :func:`train` saves it as ``ema.weights.h5`` beside the run, so
    that a resumed run continues the same average; a run that turns it on starts it from its current weights.

    Args:
        network: the network being trained.
        decay: ``d``, in (0, 1).
        saved: a weights file to continue from (``None``: start from the network's weights).
        twin: a network of the same build, to read ``saved`` into.
    """

    def __init__(self, network, decay: float, saved: Path | None, twin):
        import tensorflow as tf

        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema must be in (0, 1) (a decay per step, e.g. 0.999), got {decay}.")
        self.network = network
        if saved is not None and saved.is_file():
            twin.load_weights(str(saved))
            start = twin.get_weights()
        else:
            start = network.get_weights()
        self.values = [tf.Variable(value, trainable=False) for value in start]
        self.decay = tf.constant(decay, tf.float32)

        @tf.function
        def update():
            for average, weight in zip(self.values, self.network.weights):
                average.assign(self.decay * average + (1.0 - self.decay) * tf.cast(weight, average.dtype))

        self.update = update

    def load_into(self, twin) -> None:
        """Sets ``twin`` (a network of the same build) to the averaged weights."""
        twin.set_weights([value.numpy() for value in self.values])


def _warm_start(network, config: RunConfig) -> dict:
    """Loads a new run's starting weights from another run's weights file (the flow run's for the time model,
    the time run's for a time model with a flow correction: :func:`utils.model.warm_start_model`); returns
    where they came from (the run, its best step and CPU-hours, so that a record can count the hours behind
    the weights)."""
    from utils import model as model_lib

    source = paths.resolve(config.warm_start)
    if not source.is_file():
        raise FileNotFoundError(f"{config.warm_start}: no weights to start from (train that run first).")
    donor_state = read_state(source.parent)
    donor_config = _config_from_state(donor_state) if donor_state is not None else \
        RunConfig(**{**asdict(config), "model": "flow", "time_input": False, "warm_start": ""})
    donor = build_network(donor_config)
    donor.load_weights(str(source))
    model_lib.warm_start_model(network, donor)
    origin = {"weights": paths.display(source)}
    if donor_state is not None and donor_state.get("best"):
        origin.update(step=donor_state["best"]["step"], cpu_hours=donor_state["best"]["cpu_hours"])
        if donor_state.get("warm_start"):  # the hours behind the donor's own start
            origin["cpu_hours_before"] = hours_behind(donor_state) - donor_state["best"]["cpu_hours"]
    return origin


def promote(run_dir: str | Path, destination: str | Path) -> bool:
    """Ships a run's best weights as a ``.keras`` model when validation says they are better.

    The record beside the model (``.json``) keeps the validation PSNR and the validation set's digest;
    the shipped model is replaced only when it has no score on the same validation set or a lower one.
    Test-set scores are never read.

    Returns:
        True when the model was written.
    """
    import keras

    run_dir, destination = paths.resolve(run_dir), paths.resolve(destination)
    state = read_state(run_dir)
    if state is None or state.get("best") is None:
        raise FileNotFoundError(f"No trained run in {run_dir}: train it first (python -m utils.longrun).")
    record_path = destination.with_suffix(".json")
    if destination.is_file() and record_path.is_file():
        old = json.loads(record_path.read_text()).get("validation", {})
        if old.get("digest") == state["validation_digest"] and old.get("psnr", -1.0) >= state["best"]["val_psnr"]:
            return False
    config = _config_from_state(state)
    keras.mixed_precision.set_global_policy("float32")
    network = build_network(config)
    network.load_weights(str(run_dir / "best.weights.h5"))
    corpus_summary = paths.resolve("results/corpus.json")
    trained_on = {"synthetic_fraction": state["config"]["synthetic_fraction"]}
    if corpus_summary.is_file():
        summary = json.loads(corpus_summary.read_text())
        trained_on.update({"sources": sorted(summary["sources"]), "train": summary["splits"]["train"],
                           "validation": summary["splits"]["validation"]})
    record = {"run": paths.display(run_dir), "config": state["config"], "step": state["best"]["step"],
              "cpu_hours": state["best"]["cpu_hours"], "data": trained_on,
              **({"warm_start": state["warm_start"]} if state.get("warm_start") else {}),
              "validation": {"psnr": state["best"]["val_psnr"], "digest": state["validation_digest"],
                             "baselines": state["baselines"]}}
    with paths.atomic_target(destination) as temporary_model, paths.atomic_target(record_path) as temporary_record:
        network.save(str(temporary_model))
        temporary_record.write_text(json.dumps(record, indent=1) + "\n")
    return True


def hours_behind(record: dict) -> float:
    """CPU-hours behind a shipped model's weights (its record) or a run's best weights (its state): the run's
    own hours at that step plus those of the runs it was warm-started from."""
    own = record["cpu_hours"] if "best" not in record else (record["best"] or {"cpu_hours": 0.0})["cpu_hours"]
    return own + hours_before(record)


def hours_before(record: dict) -> float:
    """CPU-hours behind a run's (or a shipped model's) starting weights: 0 without a warm start."""
    start = record.get("warm_start") or {}
    return start.get("cpu_hours", 0.0) + start.get("cpu_hours_before", 0.0)


def continuations(root: str | Path = "results/training") -> dict[str, list[tuple[str, str, dict]]]:
    """Runs under ``root`` besides :data:`RUNS` that continue one of them: the run -> [(folder's name, label,
    state), ...] in the order they started. A run warm-started from one of :data:`RUNS` continues it (the time
    model's flow correction continues ``flow_time``), and so does a run warm-started from such a run. The label
    says what the run changed from the weights it started with (a flow correction, a level, the crops, a teacher)."""
    root, states = paths.resolve(root), {}
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.name not in RUNS and folder.is_dir() and (state := read_state(folder)) is not None \
                and state.get("warm_start"):
            states[folder.name] = state
    found: dict[str, list] = {}
    for name, state in states.items():
        chain, parent = [name], Path(state["warm_start"]["weights"]).parent.name
        while parent in states and parent not in chain:
            chain.append(parent)
            parent = Path(states[parent]["warm_start"]["weights"]).parent.name
        if parent in RUNS:
            donor = states.get(chain[1]) if len(chain) > 1 else read_state(root / parent)
            found.setdefault(parent, []).append((hours_before(state), len(chain), name,
                                                 _changes(name, state, donor or {"config": {}}), state))
    return {parent: [entry[2:] for entry in sorted(entries, key=lambda e: e[:3])] for parent, entries in found.items()}


def _changes(name: str, state: dict, donor: dict) -> str:
    """What a warm-started run changed from its donor's configuration, in words."""
    config, before = state["config"], donor["config"]
    changes = []
    if config["flow_update"] and not before.get("flow_update"):
        changes.append("with a flow correction")
    if config["base_filters"] != before.get("base_filters", config["base_filters"]):
        changes.append(f"{config['base_filters']} filters")
    if config["depth"] != before.get("depth", config["depth"]):
        changes.append(f"{config['depth']} levels")
    if list(config["crop"]) != list(before.get("crop", config["crop"])):
        changes.append(f"{config['crop'][0]}x{config['crop'][1]} crops")
    if config.get("source_balance") and not before.get("source_balance"):
        changes.append(f"sources balanced {config['source_balance']:g}")
    if config.get("distill") and not before.get("distill"):
        changes.append(f"flow teacher x{config['distill']:g}")
    if config.get("cost_radius") and not before.get("cost_radius"):
        changes.append(f"a cost volume (radius {config['cost_radius']})")
    if config["loss"] != before.get("loss", config["loss"]):
        changes.append(f"{config['loss']} loss")
    if config["synthetic_fraction"] != before.get("synthetic_fraction", config["synthetic_fraction"]):
        changes.append(f"{config['synthetic_fraction']:.0%} synthetic")
    return ", ".join(changes) or f"continued as {name}"


def status(root: str | Path = "results/training") -> list[str]:
    """One line per run under ``root``: steps, CPU-hours, best validation PSNR against DIS and averaging."""
    lines = []
    states = {model: read_state(paths.resolve(root) / model) for model in RUNS}
    states.update({name: state for chain in continuations(root).values() for name, _, state in chain})
    for model, state in states.items():
        if state is None:
            lines.append(f"{model}: not started")
            continue
        best = state["best"] or {"val_psnr": float("nan"), "step": 0}
        lines.append(f"{model}: {state['step']} steps, {state['cpu_hours']:.2f} CPU-h, best validation "
                     f"{best['val_psnr']:.3f} dB at step {best['step']} (DIS {best['val_psnr'] - state['baselines']['dis']:+.3f}"
                     f", average {best['val_psnr'] - state['baselines']['average']:+.3f}), lr {state['learning_rate']:.1e}")
    return lines


def _curves(path: str) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from utils import figures

    states = {model: state for model in RUNS if (state := read_state(f"results/training/{model}")) is not None}
    if not states:
        print("error: no run under results/training yet: train one first (make train).", file=sys.stderr)
        return 2
    figures.longrun_curves(states, paths.resolve(path), continuations=continuations())
    print(f"wrote {path}")
    for folder in (PROBES, TIME_PROBES):
        probes = sorted(paths.resolve(folder).glob("*.json"))
        if not probes:
            continue
        compared = {(state := json.loads(p.read_text())).get("label", p.stem): state for p in probes}
        if folder == PROBES and "flow" in states:  # the short flow runs that chose the long run's configuration
            compared["blend only, Charbonnier (the long run)"] = states["flow"]
        figure_path = paths.resolve(folder).with_suffix(".png")
        figures.probe_curves(compared, "dis", figure_path)
        print(f"wrote {paths.display(figure_path)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.longrun", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=RUNS, default="flow")
    parser.add_argument("--hours", type=float, default=1.0, help="CPU-hours to add (default: 1)")
    parser.add_argument("--run-dir", help="default: results/training/MODEL")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--learning-rate", type=float, help="set the learning rate (new or resumed run)")
    parser.add_argument("--loss", choices=LONG_RUN_LOSS_NAMES, help="loss of a new run (default: charbonnier; psnr: minus each image's PSNR, "
                        "the validation score itself)")
    parser.add_argument("--flow-update", action="store_true",
                        help="a new flow run also learns a correction to DIS's flows (a zero-initialised head)")
    parser.add_argument("--warm-start", metavar="WEIGHTS",
                        help="a new run's starting weights (default: the flow run's best for flow_time, else none)")
    parser.add_argument("--distill", type=float, metavar="WEIGHT",
                        help="a new flow-correction run also learns the flows of a teacher (DIS from the true frame)")
    parser.add_argument("--source-balance", type=float, metavar="B",
                        help="0: train triplets equally likely (default); 1: each source equally likely")
    parser.add_argument("--synthetic-fraction", type=float, metavar="F",
                        help="share of synthetic scenes among the training examples (default 0.3; 0.1 for unet)")
    parser.add_argument("--depth", type=int, help="levels of a new run's UNet (a warm start may add one)")
    parser.add_argument("--base-filters", type=int, metavar="N",
                        help="a new run's UNet width (default 16; a warm start from a narrower run starts as it)")
    parser.add_argument("--cost-volume", type=int, metavar="R", dest="cost_radius",
                        help="a new flow run's UNet also reads a matching cost around its flows at 1/4 resolution "
                             "((2R+1)^2 changes of motion, 4 px apart; e.g. 3)")
    parser.add_argument("--crop", type=int, nargs=2, metavar=("H", "W"), help="a new run's training crops (default 128 128)")
    parser.add_argument("--batch-size", type=int, help="a new run's batch (default 16)")
    parser.add_argument("--ema", type=float, metavar="DECAY",
                        help="validate and keep a moving average of the weights (decay per step, e.g. 0.999; 0: off)")
    parser.add_argument("--promote", action="store_true",
                        help="after training, ship the best weights if validation says they are better")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for TensorFlow's kernels (default: all; 1 each for two runs side by side)")
    parser.add_argument("--status", action="store_true", help="print where each run stands and exit")
    parser.add_argument("--curves", nargs="?", const="results/training/curves.png", metavar="PNG",
                        help="draw the runs' learning curves (default: results/training/curves.png) and exit")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up lines")
    args = parser.parse_args(argv)
    from utils import quiet

    with quiet.native_stderr_to_log(f"longrun_{args.model}", args.verbose):
        return _run(args)


def _run(args) -> int:
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.status:
        print("\n".join(status()))
        return 0
    if args.curves:
        return _curves(args.curves)
    overrides = {"learning_rate": args.learning_rate} if args.learning_rate else {}
    if args.loss:
        overrides["loss"] = args.loss
    if args.flow_update:
        overrides["flow_update"] = True
    if args.warm_start:
        overrides["warm_start"] = args.warm_start
    if args.ema is not None:
        overrides["ema"] = args.ema
    if args.distill:
        overrides["distill"] = args.distill
    for key in ("source_balance", "synthetic_fraction"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    for key in ("depth", "crop", "batch_size", "cost_radius", "base_filters"):
        if getattr(args, key) is not None:
            overrides[key] = tuple(args.crop) if key == "crop" else getattr(args, key)
    try:
        state = train(args.model, args.hours, args.run_dir, args.data_dir, **overrides)
        if args.promote:
            destination = f"results/models/{args.model}_corpus.keras"
            shipped = promote(args.run_dir or f"results/training/{args.model}", destination)
            print(f"{destination}: {'promoted' if shipped else 'kept (validation not better)'}")
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    run_dir = paths.resolve(args.run_dir or f"results/training/{args.model}")
    print(next((line for line in status(run_dir.parent) if line.startswith(f"{run_dir.name}:")), f"{state['step']} steps"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
