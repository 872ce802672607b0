"""The long run's loop: hours of resumable training on the real-footage corpus, decided by validation only.

Runs: ``flow`` (the flow-guided UNet at t = 1/2), ``unet`` (the direct-synthesis UNet, residual head) and
``flow_time`` (the time-conditioned flow UNet: any t in (0, 1); a new run starts from the ``flow`` run's
best weights, see :func:`utils.models.surgery.warm_start_model`, and is validated at t = 1/4, 1/2 and 3/4).

Training runs in chunks (400 steps by default). After each chunk the network is scored on the fixed
validation set of :func:`utils.data.sampler.validation_set` (real footage that training never sees, 64 triplets
from each group of footage: live action, animation, scientific) by the mean of the groups' scores
(:class:`utils.training.judge.Validation`), and the run's state is written atomically under ``RUN_DIR``
(default ``results/training/<model>/``):

- ``state.json``: a :class:`utils.training.run_state.RunState`: configuration, step, learning rate, CPU and
  wall hours, the validation history and the best step; what a later session (on another machine) needs
  besides the two weight files;
- ``latest.weights.h5``: the network and Adam's moments after the last chunk (Keras saves a compiled
  model's optimizer with its weights);
- ``best.weights.h5``: the network alone at its best validation PSNR.
- ``ema.weights.h5`` (with ``ema``): the moving average of the weights, which validation then judges (not
  committed: without it a resumed run starts the average again from ``latest.weights.h5``).

A killed run loses at most one chunk: the same call again continues it (same example stream, same learning
rate). The learning rate halves when validation has not improved for ``patience`` chunks. TensorBoard curves
go to ``runs/longrun/<model>/``. :func:`promote_run` ships the best weights as
``results/models/<model>_corpus.keras`` only when their validation PSNR beats the shipped model's on the same
validation set; the test clips play no part in any of it. The command is :mod:`utils.training.longrun`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from utils import hardware, paths
from utils.data import sampler
from utils.models import losses, scaled, surgery, unet
from utils.training import judge
from utils.training.run_state import Best, Checkpoint, RunConfig, RunState, WarmStart, read_state, save_weights, \
    write_state

VALIDATION_TIMES = (0.25, 0.5, 0.75)  # the time model's validation targets (frames i+1, i+2, i+3 of i .. i+4)


def build_network(config: RunConfig) -> keras.Model:
    """The Keras model a run trains (float policy set by the caller)."""
    if config.model in ("flow", "flow_time"):
        return unet.build_flow_unet(config.base_filters, config.depth, mask_gain=config.mask_gain,
                                    name=f"{config.model}_unet_corpus", initializer=config.initializer,
                                    flow_update=config.flow_update, time_input=config.time_input,
                                    cost_radius=config.cost_radius, detail_head=config.detail_head)
    return unet.build_unet(config.base_filters, config.depth, "residual", name="unet_corpus",
                           initializer=config.initializer)


@dataclass
class Session:
    """What one call of :func:`train` works with: the run's state and folder, and the networks built for it."""

    state: RunState
    run_dir: Path
    validation: judge.Validation
    network: keras.Model  # the network being trained
    trainer: keras.Model  # what train_on_batch sees: with distill, a view that also outputs the flows
    export: keras.Model  # an uncompiled twin: best and averaged weights are saved without Adam's moments
    optimizer: keras.optimizers.Optimizer
    average: "WeightAverage | None"

    @property
    def config(self) -> RunConfig:
        return self.state.config


def train(model: str = "flow", hours: float = 1.0, run_dir: str | Path | None = None, data_dir: str | Path = "data",
          max_steps: int | None = None, corpus_=None, log=None, **overrides) -> RunState:
    """Trains (or continues) a long run for ``hours`` of CPU time (process time) or ``max_steps`` steps.

    Args:
        model: ``flow``, ``unet`` or ``flow_time``.
        hours: CPU-hours to add in this call.
        run_dir: where the state lives (default ``results/training/<model>``).
        data_dir: the corpus's parent folder.
        max_steps: stop at this total step count (tests).
        corpus_: a :class:`utils.data.sampler.Corpus` (default: the one under ``data_dir``).
        log: gets one line per chunk (default: printed and flushed).
        overrides: :class:`RunConfig` fields for a new run; on a resumed run only those of
            :attr:`RunConfig.CHANGEABLE` may change (recorded in the state).

    Returns:
        The final state.
    """
    log = log or (lambda line: print(line, flush=True))  # flushed: the lines reach a pipe (tee) or a log file at once
    run_dir = paths.resolve(run_dir or f"results/training/{model}")
    state = _start_or_resume(model, run_dir, overrides)
    run_dir.mkdir(parents=True, exist_ok=True)
    corpus_ = corpus_ or sampler.Corpus(data_dir)
    validation = _validation(corpus_, state, log)
    policy = hardware.configure_precision(state.config.precision)
    session = _build(state, run_dir, validation)
    log(f"{state.config.model}: step {state.step}, lr {state.learning_rate:.2e}, {policy}, "
        f"validation {len(validation.target)} triplets (DIS {validation.baselines['dis']:.3f} dB, "
        f"average {validation.baselines['average']:.3f} dB)")
    shares = corpus_.group_shares(state.config.source_balance, state.config.synthetic_fraction)
    log("training examples by group: " + ", ".join(f"{name} {share:.1%}" for name, share in shares.items())
        + "; validation triplets by group: " + ", ".join(f"{name} {int((validation.groups == name).sum())}"
                                                         for name in validation.group_names))
    if state.step == 0 and not state.history:
        _score_the_start(session)
    config = state.config
    iterator = iter(sampler.training_dataset(corpus_, config.batch_size, tuple(config.crop), config.model == "flow",
                                             config.seed, start=state.step * config.batch_size,
                                             synthetic_fraction=config.synthetic_fraction,
                                             hard_fraction=config.hard_fraction, time_input=config.time_input,
                                             teacher=bool(config.distill), source_balance=config.source_balance,
                                             scaled_share=config.scaled_share,
                                             scaled_crop=tuple(config.scaled_crop)))
    writer = tf.summary.create_file_writer(str(paths.resolve("runs/longrun") / config.model))
    budget_end = time.process_time() + hours * 3600.0
    while time.process_time() < budget_end and (max_steps is None or state.step < max_steps):
        steps = config.chunk_steps if max_steps is None else min(config.chunk_steps, max_steps - state.step)
        entry, improved = _chunk(session, iterator, steps)
        _log_chunk(session, entry, improved, writer, log)
    return state


def _start_or_resume(model: str, run_dir: Path, overrides: dict) -> RunState:
    """The run's state: read from ``run_dir`` (``overrides`` recorded as changes) or new from ``overrides``."""
    state = read_state(run_dir)
    if state is None:
        state = RunState.new(RunConfig.for_model(model, **overrides))
    else:
        if state.config.model != model:
            raise ValueError(f"{run_dir} holds a {state.config.model!r} run, not {model!r}.")
        for key, value in overrides.items():
            state.change(key, value)
    if not 0.0 <= state.config.synthetic_fraction <= 1.0:
        raise ValueError(f"synthetic_fraction must be in [0, 1] (a share of the examples), "
                         f"got {state.config.synthetic_fraction}.")
    return state


def _validation(corpus_, state: RunState, log) -> judge.Validation:
    """The fixed validation set; a changed set makes the best score so far incomparable (it is forgotten)."""
    config = state.config
    times = VALIDATION_TIMES if config.time_input else None
    validation = judge.Validation(sampler.validation_set(corpus_, config.validation_count, times=times),
                                  config.model == "flow" or config.time_input,
                                  sampler.SCALED_FACTOR if config.scaled_share else 0)
    if state.validation_digest not in (None, validation.digest):
        log(f"note: the validation set changed ({state.validation_digest} -> {validation.digest}); "
            "best scores before this point are not comparable")
        state.best = None
    state.validation_digest, state.baselines = validation.digest, validation.baselines
    return validation


def _build(state: RunState, run_dir: Path, validation: judge.Validation) -> Session:
    """Builds and compiles the networks, then loads the run's weights (its last chunk's, or a warm start's)."""
    config = state.config
    network = build_network(config)
    loss = losses.get_loss(config.loss)
    trainer = network
    if config.distill:
        trainer, loss = unet.with_flows(network), losses.flow_distillation(loss, config.distill)
    elif config.scaled_share:
        trainer = scaled.trainer(network)
    if config.detail_only:  # the rest stays as the warm start left it: full-size frames unchanged
        for layer in network.layers:
            layer.trainable = layer.name == "detail"
    optimizer = keras.optimizers.Adam(state.learning_rate)
    trainer.compile(optimizer=optimizer, loss=loss, jit_compile=False)
    export = build_network(config)
    if state.step > 0:
        if not (run_dir / "latest.weights.h5").is_file():
            raise FileNotFoundError(
                f"{run_dir / 'latest.weights.h5'} is missing (a run committed without its optimizer state): continue "
                f"its best weights as a new run, --warm-start {paths.display(run_dir / 'best.weights.h5')} --run-dir NEW")
        optimizer.build(trainer.trainable_variables)  # so that load_weights restores Adam's moments too
        trainer.load_weights(str(run_dir / "latest.weights.h5"))
        optimizer.learning_rate.assign(state.learning_rate)
    elif config.warm_start:
        state.warm_start = _warm_start(network, config)
    # after the weights are loaded: a run that turns the average on starts it from where the network is; the
    # saved average continues only if the last chunk kept it (else it is stale or absent)
    kept = bool(state.history) and state.history[-1].val_psnr_raw is not None
    average = WeightAverage(network, config.ema, run_dir / "ema.weights.h5" if kept else None, export) \
        if config.ema else None
    return Session(state, run_dir, validation, network, trainer, export, optimizer, average)


def _score_the_start(session: Session) -> None:
    """The starting point (DIS, averaging, a warm start) is the first best (the average starts as the network)."""
    state = session.state
    parts = session.validation.parts(session.network)
    score = round(judge.decision(parts), 4)
    state.history.append(Checkpoint(step=0, cpu_hours=0.0, wall_hours=0.0, train_loss=None, val_psnr=score,
                                    learning_rate=state.learning_rate, **_sizes(parts)))
    session.export.set_weights(session.network.get_weights())
    save_weights(session.export, session.run_dir / "best.weights.h5")
    state.best = Best(step=0, val_psnr=score, cpu_hours=0.0)
    write_state(session.run_dir, state)  # a later call at step 0 starts afresh (no latest weights yet)


def _chunk(session: Session, iterator, steps: int) -> tuple[Checkpoint, bool]:
    """Trains ``steps`` steps, validates, keeps the best weights, halves the learning rate on a plateau, saves."""
    state, config, average = session.state, session.config, session.average
    cpu0, wall0 = time.process_time(), time.perf_counter()
    losses_seen = []
    for _ in range(steps):
        inputs, target = next(iterator)
        losses_seen.append(float(session.trainer.train_on_batch(inputs, target)))
        if average is not None:
            average.update()
    parts, raw = session.validation.parts(session.network), None
    if average is not None:  # the average is what validation judges, keeps and ships; the raw score is logged
        raw = judge.decision(parts)
        average.load_into(session.export)
        parts = session.validation.parts(session.export)
    score = judge.decision(parts)
    state.step += steps
    state.cpu_hours += (time.process_time() - cpu0) / 3600.0
    state.wall_hours += (time.perf_counter() - wall0) / 3600.0
    entry = Checkpoint(step=state.step, cpu_hours=round(state.cpu_hours, 4), wall_hours=round(state.wall_hours, 4),
                       train_loss=float(np.mean(losses_seen)), val_psnr=round(score, 4),
                       learning_rate=state.learning_rate,
                       val_psnr_raw=None if raw is None else round(raw, 4), **_sizes(parts))
    state.history.append(entry)
    improved = state.best is None or score > state.best.val_psnr
    patience = config.patience * config.chunk_steps
    if improved:
        if average is None:  # (else export holds the average already)
            session.export.set_weights(session.network.get_weights())
        save_weights(session.export, session.run_dir / "best.weights.h5")
        state.best = Best(step=state.step, val_psnr=round(score, 4), cpu_hours=entry.cpu_hours)
    elif state.step - state.best.step >= patience and state.learning_rate > config.min_learning_rate and \
            state.step - (state.lr_changed_at or 0) >= patience:
        state.learning_rate = max(state.learning_rate / 2.0, config.min_learning_rate)
        state.lr_changed_at = state.step
        session.optimizer.learning_rate.assign(state.learning_rate)
    save_weights(session.trainer, session.run_dir / "latest.weights.h5")
    if average is not None:
        save_weights(session.export, session.run_dir / "ema.weights.h5")
    write_state(session.run_dir, state)
    return entry, improved


def _sizes(parts: dict[str, float]) -> dict[str, float]:
    """A scaled run's two validation scores as :class:`Checkpoint` fields (none for a plain run)."""
    if "scaled" not in parts:
        return {}
    return {"val_psnr_full": round(parts["full"], 4), "val_psnr_scaled": round(parts["scaled"], 4)}


def _log_chunk(session: Session, entry: Checkpoint, improved: bool, writer, log) -> None:
    """One line for the person watching, and the TensorBoard scalars."""
    state, baselines = session.state, session.validation.baselines
    with writer.as_default(step=state.step):
        tf.summary.scalar("train_loss", entry.train_loss)
        tf.summary.scalar("val_psnr", entry.val_psnr)
        tf.summary.scalar("val_psnr_minus_dis", entry.val_psnr - baselines["dis"])
        tf.summary.scalar("learning_rate", state.learning_rate)
    log(f"{state.config.model} step {state.step}: loss {entry.train_loss:.4f}, validation {entry.val_psnr:.3f} dB "
        f"(DIS {entry.val_psnr - baselines['dis']:+.3f}, average {entry.val_psnr - baselines['average']:+.3f})"
        f"{' best' if improved else ''}, lr {state.learning_rate:.1e}, {state.cpu_hours:.2f} CPU-h"
        + (f"; full size {entry.val_psnr_full:.3f}, half size {entry.val_psnr_scaled:.3f}"
           if entry.val_psnr_scaled is not None else ""))


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
                if weight.trainable:  # a frozen weight is its own average (d w + (1 - d) w rounds away from w)
                    average.assign(self.decay * average + (1.0 - self.decay) * tf.cast(weight, average.dtype))

        self.update = update

    def load_into(self, twin) -> None:
        """Sets ``twin`` (a network of the same build) to the averaged weights."""
        twin.set_weights([value.numpy() for value in self.values])


def _warm_start(network, config: RunConfig) -> WarmStart:
    """Loads a new run's starting weights from another run's weights file (the flow run's for the time model,
    the time run's for a time model with a flow correction: :func:`utils.models.surgery.warm_start_model`); returns
    where they came from (the run, its best step and CPU-hours, so that a record can count the hours behind
    the weights)."""
    source = paths.resolve(config.warm_start)
    if not source.is_file():
        raise FileNotFoundError(f"{config.warm_start}: no weights to start from (train that run first).")
    donor_state = read_state(source.parent)
    donor_config = donor_state.config if donor_state is not None else \
        RunConfig(**{**asdict(config), "model": "flow", "time_input": False, "warm_start": ""})
    donor = build_network(donor_config)
    donor.load_weights(str(source))
    surgery.warm_start_model(network, donor)
    origin = WarmStart(weights=paths.display(source))
    if donor_state is not None and donor_state.best is not None:
        origin.step, origin.cpu_hours = donor_state.best.step, donor_state.best.cpu_hours
        if donor_state.warm_start is not None:  # the hours behind the donor's own start
            origin.cpu_hours_before = donor_state.hours_before
    return origin


def promote_run(run_dir: str | Path, destination: str | Path, data_dir: str | Path = "data", corpus_=None) -> bool:
    """Ships a run's best weights as a ``.keras`` model when validation says they are better.

    Both are judged on the validation set the corpus gives the run's configuration now (the balanced set of
    :func:`utils.data.sampler.validation_set`, both sizes for a scaled run): a score made on that set (the run's
    best, the shipped model's record) is read, any other is made again (``rescored`` in the record). The shipped
    model is replaced only when it scores lower; a shipped file without a record is replaced. The record beside
    the model (``.json``) keeps the score and the set's digest. Test-set scores are never read.

    Returns:
        True when the model was written.
    """
    run_dir, destination = paths.resolve(run_dir), paths.resolve(destination)
    state = read_state(run_dir)
    if state is None or state.best is None:
        raise FileNotFoundError(f"No trained run in {run_dir}: train it first (python -m utils.training.longrun).")
    keras.mixed_precision.set_global_policy("float32")
    validation = _validation(corpus_ or sampler.Corpus(data_dir), RunState.new(state.config), lambda line: None)
    network = build_network(state.config)
    network.load_weights(str(run_dir / "best.weights.h5"))
    rescored = state.validation_digest != validation.digest
    candidate = round(validation.score(network), 4) if rescored else state.best.val_psnr
    record_path = destination.with_suffix(".json")
    rival = None
    if destination.is_file() and record_path.is_file():
        old = json.loads(record_path.read_text()).get("validation", {})
        rival = old.get("psnr", -1.0) if old.get("digest") == validation.digest else \
            round(validation.score(keras.models.load_model(destination, compile=False)), 4)
        if rival >= candidate:
            return False
    record = _model_record(state, run_dir)
    record["validation"] = {"psnr": candidate, "digest": validation.digest, "baselines": validation.baselines,
                            **({"rescored": True} if rescored else {}),
                            **({"replaced_model_psnr": rival} if rival is not None else {})}
    with paths.atomic_target(destination) as temporary_model, paths.atomic_target(record_path) as temporary_record:
        network.save(str(temporary_model))
        temporary_record.write_text(json.dumps(record, indent=1) + "\n")
    return True


def _model_record(state: RunState, run_dir: Path) -> dict:
    """The record shipped beside a promoted model: its run, step, CPU-hours, data and validation scores."""
    json_state = state.to_json()
    corpus_summary = paths.resolve("results/corpus.json")
    trained_on = {"synthetic_fraction": state.config.synthetic_fraction}
    if corpus_summary.is_file():
        summary = json.loads(corpus_summary.read_text())
        trained_on.update({"sources": sorted(summary["sources"]), "train": summary["splits"]["train"],
                           "validation": summary["splits"]["validation"]})
    return {"run": paths.display(run_dir), "config": json_state["config"], "step": state.best.step,
            "cpu_hours": state.best.cpu_hours, "data": trained_on,
            **({"warm_start": json_state["warm_start"]} if state.warm_start else {})}
