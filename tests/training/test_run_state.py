"""The long run's typed state: every committed ``state.json`` and probe record loads and writes back unchanged."""

from __future__ import annotations

import dataclasses
import json

import pytest

from utils import paths
from utils.training import run_state

RECORDS = sorted(path for path in paths.resolve("results/training").rglob("*.json")
                 if path.name not in ("rejudged.json", "ensembles.json"))  # judges' records (tables), not runs' states


def test_there_are_committed_states():
    assert sum(path.name == "state.json" for path in RECORDS) >= 5 and len(RECORDS) >= 30


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: str(p.relative_to(paths.resolve("results/training"))))
def test_every_committed_state_round_trips(path):
    raw = json.loads(path.read_text())
    state = run_state.read_state(path)
    assert isinstance(state.config, run_state.RunConfig) and state.step == raw["step"]
    assert all(isinstance(entry, run_state.Checkpoint) for entry in state.history)
    expected = {**raw, "config": {**dataclasses.asdict(run_state.RunConfig()), **raw["config"]}}
    for key in ("crop", "scaled_crop"):  # fields a file predates get their defaults
        expected["config"][key] = list(expected["config"][key])
    assert state.to_json() == expected


def test_a_state_written_and_read_is_the_same(tmp_path):
    state = run_state.RunState.new(run_state.RunConfig.for_model("unet", learning_rate=1e-4))
    state.history.append(run_state.Checkpoint(step=0, cpu_hours=0.0, wall_hours=0.0, train_loss=None, val_psnr=30.0,
                                              learning_rate=1e-4))
    state.best = run_state.Best(step=0, val_psnr=30.0, cpu_hours=0.0)
    state.change("patience", 2)
    run_state.write_state(tmp_path, state)
    again = run_state.read_state(tmp_path)
    assert again == state and again.config.crop == (128, 128) and again.config_changes == [{"step": 0, "patience": 2}]
    assert json.loads((tmp_path / "state.json").read_text())["history"][0]["train_loss"] is None


def test_unknown_fields_and_unchangeable_settings_are_refused(tmp_path):
    (tmp_path / "state.json").write_text(json.dumps({"config": {}, "stpe": 3}))
    with pytest.raises(ValueError, match="unknown field.*stpe"):
        run_state.read_state(tmp_path)
    with pytest.raises(ValueError, match="depth cannot change on a resumed run"):
        run_state.RunState.new(run_state.RunConfig()).change("depth", 5)
