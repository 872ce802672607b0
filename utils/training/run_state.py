"""A long run's configuration and state as typed dataclasses, read from and written to ``state.json``
(atomically) beside its weights.

``state.json`` holds a :class:`RunState`: the :class:`RunConfig`, where the run stands (step, learning rate,
CPU and wall hours), its validation :class:`Checkpoint` history and best checkpoint, the configuration changes
of resumed calls, and where a warm-started run's weights came from (:class:`WarmStart`). Probe records
(``results/training/probes*/*.json``) are the same with a label.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from utils import paths

RUNS = ("flow", "unet", "flow_time")


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
    distill: float = 0.0  # > 0: weight of the flow teacher's term (utils.models.losses.flow_distillation) in the loss
    source_balance: float = 0.0  # 0: triplets equally likely; 1: sources equally likely (sampler.training_dataset)
    cost_radius: int = 0  # > 0: a cost volume of this radius joins the flow UNet (utils.models.unet.CostVolume)
    scaled_share: float = 0.0  # > 0 (flow_time): this share of batches trains the video command's half-size path
    scaled_crop: tuple[int, int] = (224, 256)  # those batches' full-size crops (the network sees half of each side)
    detail_head: bool = False  # the flow UNet's detail head: a learned filter over the full-size pixels at half size
    detail_only: bool = False  # train the detail head alone (the network frozen: its full-size frames stay as they are)

    # fields a resumed run may change (each change is recorded in RunState.config_changes)
    CHANGEABLE = ("learning_rate", "chunk_steps", "patience", "synthetic_fraction", "ema", "source_balance")

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
        if overrides.get("scaled_share") and (model != "flow_time" or overrides.get("distill")):
            raise ValueError("--scaled-share: trains the time model's reduced-resolution path (flow_time, no --distill).")
        if overrides.get("detail_only"):
            overrides["detail_head"] = True
            if overrides.get("scaled_share") != 1.0:
                raise ValueError("--detail-only: the detail head learns from the half-size path alone; give "
                                 "--scaled-share 1.")
        if overrides.get("detail_head") and (model != "flow_time" or not overrides.get("scaled_share")):
            raise ValueError("--detail-head: corrects the time model's half-size path (flow_time with --scaled-share).")
        if overrides.get("distill") and not overrides.get("flow_update"):
            raise ValueError("--distill: teaches a flow correction; give --flow-update too (a flow or flow_time run).")
        defaults = {"flow": {}, "unet": {"depth": 5, "synthetic_fraction": 0.1},
                    "flow_time": {"time_input": True, "learning_rate": 1e-4,
                                  "warm_start": "results/training/flow/best.weights.h5"}}[model]
        return cls(model=model, **{**defaults, **overrides})

    @classmethod
    def from_json(cls, values: dict) -> "RunConfig":
        return cls(**{**values, "crop": tuple(values.get("crop", cls.crop)),
                      "scaled_crop": tuple(values.get("scaled_crop", cls.scaled_crop))})


@dataclass
class Checkpoint:
    """Validation after a chunk: where the run was and what it scored (``val_psnr``: the weights that validation
    judges, the moving average with ``--ema``; ``val_psnr_raw``: then the network's own weights)."""

    step: int
    cpu_hours: float
    wall_hours: float
    train_loss: float | None
    val_psnr: float
    learning_rate: float
    val_psnr_raw: float | None = None
    val_psnr_average_from_fresh_weights: float | None = None  # steps 5,200-6,000 of flow_time_update (its notes)
    val_psnr_full: float | None = None  # a scaled run: val_psnr is the mean of these two (judge.Validation.parts)
    val_psnr_scaled: float | None = None


@dataclass
class Best:
    """The best validation checkpoint so far (its weights are ``best.weights.h5``)."""

    step: int
    val_psnr: float
    cpu_hours: float


@dataclass
class WarmStart:
    """Where a warm-started run's first weights came from: the weights file, the donor's best step and the CPU-hours
    behind it (the donor's own and, ``cpu_hours_before``, those of the runs the donor started from)."""

    weights: str
    step: int | None = None
    cpu_hours: float | None = None
    cpu_hours_before: float | None = None
    note: str | None = None


@dataclass
class RunState:
    """Everything a later session needs, besides the weight files, to continue or report a run."""

    config: RunConfig
    step: int = 0
    learning_rate: float = 0.0
    cpu_hours: float = 0.0
    wall_hours: float = 0.0
    best: Best | None = None
    history: list[Checkpoint] = field(default_factory=list)
    config_changes: list[dict] = field(default_factory=list)  # {"step": n, field: new value}, one per change
    validation_digest: str | None = None
    baselines: dict[str, float] | None = None  # the validation set's scores of averaging and DIS
    warm_start: WarmStart | None = None
    lr_changed_at: int | None = None
    notes: list[str] | None = None
    label: str | None = None  # a probe record's name in the figures
    note: str | None = None
    steps_offset: int | None = None  # a probe started from another run's step: where its curve starts

    @classmethod
    def new(cls, config: RunConfig) -> "RunState":
        return cls(config=config, learning_rate=config.learning_rate)

    @classmethod
    def from_json(cls, values: dict) -> "RunState":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}: not a run's state.json")
        return cls(**{**values, "config": RunConfig.from_json(values["config"]),
                      "best": Best(**values["best"]) if values.get("best") else None,
                      "history": [Checkpoint(**entry) for entry in values.get("history", [])],
                      "warm_start": WarmStart(**values["warm_start"]) if values.get("warm_start") else None})

    def to_json(self) -> dict:
        """The state as ``state.json`` holds it (fields without a value left out)."""
        def clean(value):
            if isinstance(value, dict):
                return {key: clean(item) for key, item in value.items() if item is not None}
            if isinstance(value, (list, tuple)):
                return [clean(item) for item in value]
            return value

        values = clean(asdict(self))
        values["config"]["crop"] = list(self.config.crop)
        values["config"]["scaled_crop"] = list(self.config.scaled_crop)
        values["best"] = None if self.best is None else values["best"]
        for entry, checkpoint in zip(values["history"], self.history):
            entry["train_loss"] = checkpoint.train_loss  # null at step 0: no training yet
        return values

    def change(self, key: str, value) -> None:
        """Changes a configuration field of a resumed run (one of :attr:`RunConfig.CHANGEABLE`), recording it."""
        if key not in RunConfig.CHANGEABLE:
            raise ValueError(f"{key} cannot change on a resumed run (only {', '.join(sorted(RunConfig.CHANGEABLE))}).")
        if key == "learning_rate":  # a new rate gets its patience before validation may halve it
            self.learning_rate, self.lr_changed_at = value, self.step
        setattr(self.config, key, value)
        self.config_changes.append({"step": self.step, key: value})

    @property
    def hours_before(self) -> float:
        """CPU-hours behind the run's starting weights: 0 without a warm start."""
        start = self.warm_start
        return 0.0 if start is None else (start.cpu_hours or 0.0) + (start.cpu_hours_before or 0.0)

    @property
    def hours_behind(self) -> float:
        """CPU-hours behind the run's best weights: its own hours at that step plus those before its start."""
        return (self.best.cpu_hours if self.best else 0.0) + self.hours_before


def save_weights(network, path: Path) -> None:
    """Saves a network's weights atomically (a temporary name beside ``path``, then a rename)."""
    temporary = path.with_name(f".tmp-{path.name}")  # Keras wants the name to end in .weights.h5
    network.save_weights(str(temporary))
    os.replace(temporary, path)


def read_state(run_dir: str | Path) -> RunState | None:
    """The :class:`RunState` in ``run_dir/state.json`` (or a probe record's file), ``None`` before a first chunk."""
    path = paths.resolve(run_dir)
    path = path if path.suffix == ".json" else path / "state.json"
    if not path.is_file():
        return None
    try:
        return RunState.from_json(json.loads(path.read_text()))
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{path}: {error}") from None


def write_state(run_dir: Path, state: RunState) -> None:
    """Writes ``run_dir/state.json`` atomically."""
    with paths.atomic_target(run_dir / "state.json") as temporary:
        temporary.write_text(json.dumps(state.to_json(), indent=1) + "\n")
