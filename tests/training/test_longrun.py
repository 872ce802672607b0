"""Long runs: resumable from their files alone (in a new process), checkpoints and promotion by validation."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from utils.data import sampler
from utils.training import judge, longrun, loop, records, run_state

TINY = {"base_filters": 4, "depth": 2, "batch_size": 2, "crop": (32, 32), "chunk_steps": 2, "validation_count": 4,
        "synthetic_fraction": 0.0, "precision": "float32"}
ROOT = Path(__file__).resolve().parents[2]


def _run_in_new_process(code: str, cwd: Path) -> str:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_killed_run_resumes_in_a_new_process_from_its_files(tiny_corpus, tmp_path):
    run_dir = tmp_path / "run"
    start = (f"from utils.training import loop; loop.train('flow', run_dir={str(run_dir)!r}, "
             f"data_dir={str(tiny_corpus)!r}, max_steps=4, **{TINY!r})")
    _run_in_new_process(start, tmp_path)
    first = run_state.read_state(run_dir)
    assert first.step == 4 and [h.step for h in first.history] == [0, 2, 4]
    resume = (f"from utils.training import loop; loop.train('flow', run_dir={str(run_dir)!r}, "
              f"data_dir={str(tiny_corpus)!r}, max_steps=6, learning_rate=1e-4)")
    _run_in_new_process(resume, tmp_path)
    state = run_state.read_state(run_dir)
    assert state.step == 6 and state.config.depth == 2 and state.learning_rate == 1e-4
    assert state.lr_changed_at == 4  # the new rate's patience counts from where it was set
    assert state.config_changes == [{"step": 4, "learning_rate": 1e-4}]
    # Adam's moments came back: its step counter continued from 4 rather than restarting
    network = loop.build_network(state.config)
    optimizer = keras.optimizers.Adam()
    network.compile(optimizer=optimizer, loss="mse")
    optimizer.build(network.trainable_variables)
    network.load_weights(str(run_dir / "latest.weights.h5"))
    assert int(optimizer.iterations.numpy()) == 6
    assert (run_dir / "best.weights.h5").stat().st_size < (run_dir / "latest.weights.h5").stat().st_size


def test_untrained_flow_network_scores_as_dis_on_validation(tiny_corpus, tmp_path):
    state = loop.train("flow", run_dir=tmp_path / "run", data_dir=tiny_corpus, max_steps=2, log=lambda s: None,
                          **TINY)
    assert state.history[0].val_psnr == pytest.approx(state.baselines["dis"], abs=0.02)
    (tmp_path / "run" / "latest.weights.h5").unlink()  # a run committed with its best weights only
    with pytest.raises(FileNotFoundError, match="continue its best weights as a new run, --warm-start .*best.weights.h5"):
        loop.train("flow", run_dir=tmp_path / "run", data_dir=tiny_corpus, max_steps=4, log=lambda s: None)


def test_resumed_run_refuses_to_change_its_architecture(tiny_corpus, tmp_path):
    loop.train("unet", run_dir=tmp_path / "run", data_dir=tiny_corpus, max_steps=2, log=lambda s: None, **TINY)
    with pytest.raises(ValueError, match="depth cannot change"):
        loop.train("unet", run_dir=tmp_path / "run", data_dir=tiny_corpus, max_steps=4, depth=3)
    with pytest.raises(ValueError, match="holds a 'unet' run"):
        loop.train("flow", run_dir=tmp_path / "run", data_dir=tiny_corpus, max_steps=4)


def test_promotion_reads_validation_only(tiny_corpus, tmp_path):
    run_dir = tmp_path / "run"
    state = loop.train("flow", run_dir=run_dir, data_dir=tiny_corpus, max_steps=2, log=lambda s: None, **TINY)
    destination = tmp_path / "models" / "flow_corpus.keras"
    best = state.best.val_psnr
    digest = state.validation_digest

    def shipped(validation_psnr, test_psnr):
        destination.parent.mkdir(exist_ok=True)
        destination.write_bytes(b"old model")
        destination.with_suffix(".json").write_text(json.dumps(
            {"validation": {"psnr": validation_psnr, "digest": digest}, "test": {"psnr": test_psnr}}))

    shipped(best + 1.0, test_psnr=10.0)  # better on validation, far worse on test: kept
    assert loop.promote_run(run_dir, destination, tiny_corpus) is False
    assert destination.read_bytes() == b"old model"
    shipped(best - 1.0, test_psnr=99.0)  # worse on validation, far better on test: replaced
    assert loop.promote_run(run_dir, destination, tiny_corpus) is True
    record = json.loads(destination.with_suffix(".json").read_text())
    assert record["validation"]["psnr"] == best and "test" not in record
    model = keras.models.load_model(destination, compile=False)
    assert model.inputs[0].shape[-1] == 10
    state.validation_digest, state.best.val_psnr = "an-older-set", 99.0  # a score on another set is not believed:
    run_state.write_state(run_dir, state)  # the run's weights are scored again, and equal the shipped ones
    assert loop.promote_run(run_dir, destination, tiny_corpus) is False


def test_a_scaled_run_is_judged_at_both_sizes_and_must_beat_the_shipped_model_on_that_judge(tiny_corpus, tmp_path):
    """A run with scaled_share is scored at full size and through the half-size path, its decision score the
    mean; the shipped model, judged on another set before, is scored again on this judge before it is replaced."""
    flow_dir, time_dir, scaled_dir = (tmp_path / "training" / name for name in ("flow", "flow_time", "scaled"))
    loop.train("flow", run_dir=flow_dir, data_dir=tiny_corpus, max_steps=0, log=lambda s: None, **TINY)
    plain = loop.train("flow_time", run_dir=time_dir, data_dir=tiny_corpus, max_steps=2, log=lambda s: None,
                       warm_start=str(flow_dir / "best.weights.h5"), **TINY)
    destination = tmp_path / "models" / "flow_time_corpus.keras"
    assert loop.promote_run(time_dir, destination, tiny_corpus)
    state = loop.train("flow_time", run_dir=scaled_dir, data_dir=tiny_corpus, max_steps=2, log=lambda s: None,
                       warm_start=str(time_dir / "best.weights.h5"), scaled_share=0.5, scaled_crop=(32, 48), **TINY)
    start = state.history[0]
    assert state.validation_digest == f"{plain.validation_digest}-scaled2"
    assert start.val_psnr_full == pytest.approx(plain.best.val_psnr, abs=2e-3)  # the same weights at full size
    assert start.val_psnr_scaled != start.val_psnr_full
    assert start.val_psnr == pytest.approx((start.val_psnr_full + start.val_psnr_scaled) / 2, abs=2e-4)
    assert all(h.val_psnr_scaled is not None for h in state.history)
    state.best.val_psnr = round(start.val_psnr - 0.01, 4)  # the shipped model is the run's start: scored again
    run_state.write_state(scaled_dir, state)
    assert loop.promote_run(scaled_dir, destination, tiny_corpus) is False  # not better on the run's judge
    state.best.val_psnr = round(start.val_psnr + 0.01, 4)
    run_state.write_state(scaled_dir, state)
    assert loop.promote_run(scaled_dir, destination, tiny_corpus) is True
    record = json.loads(destination.with_suffix(".json").read_text())
    assert record["validation"]["replaced_model_psnr"] == pytest.approx(start.val_psnr, abs=2e-3)
    assert record["validation"]["digest"].endswith("-scaled2") and record["config"]["scaled_share"] == 0.5
    assert record["validation"]["psnr"] == state.best.val_psnr and "rescored" not in record["validation"]



def test_a_detail_only_run_trains_the_head_alone_and_keeps_the_full_size_frames(tiny_corpus, tmp_path):
    """--detail-only: a time model with a detail head, warm-started from a time run, trains that head alone through
    the half-size path: every other weight stays the donor's (so its full-size score does not move) while the
    head and the half-size score do; the promoted model carries the head."""
    flow_dir, time_dir, detail_dir = (tmp_path / "training" / name for name in ("flow", "flow_time", "detail"))
    loop.train("flow", run_dir=flow_dir, data_dir=tiny_corpus, max_steps=0, log=lambda s: None, **TINY)
    loop.train("flow_time", run_dir=time_dir, data_dir=tiny_corpus, max_steps=2, log=lambda s: None,
               warm_start=str(flow_dir / "best.weights.h5"), learning_rate=1e-2, **TINY)
    state = loop.train("flow_time", run_dir=detail_dir, data_dir=tiny_corpus, max_steps=4, log=lambda s: None,
                       warm_start=str(time_dir / "best.weights.h5"), scaled_share=1.0, scaled_crop=(32, 48),
                       detail_only=True, learning_rate=1e-2, ema=0.9, **TINY)
    assert state.config.detail_head and state.config.detail_only
    assert records._changes("detail", state.config, run_state.read_state(time_dir).config) == \
        "100% of batches at half size, a detail head trained alone"
    assert {h.val_psnr_full for h in state.history} == {state.history[0].val_psnr_full}
    assert len({h.val_psnr_scaled for h in state.history}) > 1
    donor = loop.build_network(run_state.read_state(time_dir).config)
    donor.load_weights(str(time_dir / "best.weights.h5"))
    latest = loop._build(run_state.read_state(detail_dir), detail_dir, None).network  # its latest weights
    best = loop.build_network(state.config)  # the moving average (validation judges it, best.weights.h5 keeps it)
    best.load_weights(str(detail_dir / "ema.weights.h5"))
    theirs = {layer.name: layer.get_weights() for layer in donor.layers}
    for trained in (latest, best):
        for layer in trained.layers:
            if layer.name == "detail":
                assert trained is best or any(np.abs(w).max() > 0 for w in layer.get_weights())
            elif layer.weights:  # exactly: the average of a frozen weight is the weight
                assert all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), theirs[layer.name])), layer.name
    with pytest.raises(ValueError, match="give --scaled-share 1"):
        run_state.RunConfig.for_model("flow_time", detail_only=True, scaled_share=0.5)
    with pytest.raises(ValueError, match="--detail-head: corrects the time model's half-size path"):
        run_state.RunConfig.for_model("flow_time", detail_head=True)

def test_the_balanced_score_not_the_pooled_one_picks_the_checkpoint(tiny_corpus, tmp_path, monkeypatch):
    """Validation with three triplets of animation and one of scientific footage: after the first chunk the pooled
    mean is higher (the large group better), after the second the mean over groups is; the run keeps the second."""
    manifest_path = tiny_corpus / "corpus" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["shots"][2]["group"] = "animation"
    manifest["shots"][3].update(split="validation", group="scientific", range=[0, 3], frames=3,
                                motion=manifest["shots"][3]["motion"][:2])
    manifest_path.write_text(json.dumps(manifest))
    chunks = iter([[10.0, 10.0, 10.0, 10.0], [31.0, 31.0, 31.0, 20.0], [29.5, 29.5, 29.5, 23.0]])
    monkeypatch.setattr(judge.Validation, "psnrs", lambda self, network, batch=16, scaled=False: np.array(next(chunks)))
    state = loop.train("flow", run_dir=tmp_path / "run", data_dir=tiny_corpus, max_steps=4, log=lambda s: None, **TINY)
    validation = judge.Validation(sampler.validation_set(sampler.Corpus(tiny_corpus), 4), True)
    assert list(validation.groups) == ["animation"] * 3 + ["scientific"]
    assert [h.val_psnr for h in state.history] == [10.0, 25.5, 26.25]  # pooled: 10, 28.25, 27.875
    assert state.best.step == 4


def test_checkpoint_follows_validation_not_training_loss(tiny_corpus, tmp_path, monkeypatch):
    scores = iter([30.0, 31.0, 30.5, 30.2])  # step 0, then after each chunk
    monkeypatch.setattr(judge.Validation, "parts", lambda self, network, batch=16: {"full": next(scores)})
    state = loop.train("unet", run_dir=tmp_path / "run", data_dir=tiny_corpus, max_steps=6, log=lambda s: None,
                          **{**TINY, "patience": 2})
    assert state.best == run_state.Best(step=2, val_psnr=31.0, cpu_hours=state.history[1].cpu_hours)
    # two chunks (patience) without a better validation score after the best: the learning rate halves once
    # (each history entry keeps the rate its chunk trained with; the halving applies from step 6 on)
    assert [h.learning_rate for h in state.history] == [3e-4] * 4
    assert state.learning_rate == 1.5e-4 and state.lr_changed_at == 6


def test_status_lines(tmp_path, tiny_corpus):
    loop.train("flow", run_dir=tmp_path / "training" / "flow", data_dir=tiny_corpus, max_steps=2,
                  log=lambda s: None, **TINY)
    lines = records.status(tmp_path / "training")
    assert lines[0].startswith("flow: 2 steps") and "DIS" in lines[0] and lines[1] == "unet: not started"


@pytest.mark.parametrize("model", run_state.RUNS)
def test_committed_runs_can_continue_and_their_shipped_models_are_their_best(model):
    """What a later session needs to continue is committed, and the shipped model is the run's validated best."""
    shipped = ROOT / "results" / "models" / f"{model}_corpus.keras"
    record = json.loads(shipped.with_suffix(".json").read_text())
    run_dir = ROOT / record["run"]  # the run it came from: the model's own run or one continuing it
    state = run_state.read_state(run_dir)
    assert state is not None and state.step > 0 and state.cpu_hours > 0
    assert (run_dir / "best.weights.h5").stat().st_size < 25 * 2**20
    latest = run_dir / "latest.weights.h5"  # Adam's state: kept while the run goes on; a finished run keeps its best
    assert not latest.exists() or latest.stat().st_size < 25 * 2**20  # (a new run warm-starts from those)
    assert [h.step for h in state.history] == sorted(h.step for h in state.history)
    assert state.best.val_psnr == max(h.val_psnr for h in state.history)
    assert record["step"] == state.best.step
    if not record["validation"].get("rescored"):  # else judged again on a newer set when it was shipped
        assert record["validation"]["digest"] == state.validation_digest
        assert record["validation"]["psnr"] == state.best.val_psnr
    assert shipped.stat().st_size < 25 * 2**20
    inherited = record.get("warm_start", {}).get("cpu_hours", 0.0) + record.get("warm_start", {}).get("cpu_hours_before", 0.0)
    assert records.hours_behind(record) == pytest.approx(record["cpu_hours"] + inherited)


def test_time_run_starts_from_the_flow_run_and_validates_at_three_times(tiny_corpus, tmp_path):
    flow_dir = tmp_path / "training" / "flow"
    loop.train("flow", run_dir=flow_dir, data_dir=tiny_corpus, max_steps=0, log=lambda s: None, **TINY)
    state = loop.train("flow_time", run_dir=tmp_path / "training" / "flow_time", data_dir=tiny_corpus,
                          max_steps=2, log=lambda s: None, warm_start=str(flow_dir / "best.weights.h5"), **TINY)
    assert state.config.time_input and state.warm_start.step == 0
    assert state.warm_start.weights.endswith("flow/best.weights.h5")
    # the flow run was untrained (DIS), so the time run starts as DIS at each validation triplet's t
    assert state.history[0].val_psnr == pytest.approx(state.baselines["dis"], abs=0.02)
    assert state.step == 2
    lines = records.status(tmp_path / "training")
    assert lines[2].startswith("flow_time: 2 steps")
    with pytest.raises(FileNotFoundError, match="no weights to start from"):
        loop.train("flow_time", run_dir=tmp_path / "other", data_dir=tiny_corpus, max_steps=2,
                      log=lambda s: None, warm_start=str(tmp_path / "missing.weights.h5"), **TINY)


def test_a_flow_correction_run_starts_where_the_time_run_ended(tiny_corpus, tmp_path):
    flow_dir, time_dir = tmp_path / "training" / "flow", tmp_path / "training" / "flow_time"
    loop.train("flow", run_dir=flow_dir, data_dir=tiny_corpus, max_steps=0, log=lambda s: None, **TINY)
    donor = loop.train("flow_time", run_dir=time_dir, data_dir=tiny_corpus, max_steps=2, log=lambda s: None,
                          warm_start=str(flow_dir / "best.weights.h5"), learning_rate=1e-2, **TINY)
    state = loop.train("flow_time", run_dir=tmp_path / "update", data_dir=tiny_corpus, max_steps=0,
                          log=lambda s: None, warm_start=str(time_dir / "best.weights.h5"), flow_update=True, **TINY)
    assert state.config.flow_update and not donor.config.flow_update
    assert state.history[0].val_psnr == pytest.approx(donor.best.val_psnr, abs=1e-3)
    assert state.warm_start.step == donor.best.step and state.warm_start.cpu_hours_before == 0.0
    assert state.hours_behind == pytest.approx(donor.best.cpu_hours)  # 0 of its own, 0 in the flow run
    deeper = loop.train("flow_time", run_dir=tmp_path / "deeper", data_dir=tiny_corpus, max_steps=0,
                           log=lambda s: None, warm_start=str(time_dir / "best.weights.h5"), **{**TINY, "depth": 3})
    assert deeper.config.depth == 3 and deeper.history[0].val_psnr == pytest.approx(
        donor.best.val_psnr, abs=1e-3)  # one level more, started as the donor
    matched = loop.train("flow_time", run_dir=tmp_path / "matched", data_dir=tiny_corpus, max_steps=2,
                            log=lambda s: None, warm_start=str(tmp_path / "deeper" / "best.weights.h5"),
                            **{**TINY, "depth": 3, "cost_radius": 1}, learning_rate=1e-2)
    assert matched.history[0].val_psnr == pytest.approx(deeper.history[0].val_psnr, abs=1e-3)
    assert matched.history[-1].val_psnr != pytest.approx(matched.history[0].val_psnr, abs=1e-4)
    assert records._changes("matched", matched.config, deeper.config) == "a cost volume (radius 1)"
    plain = dataclasses.replace(matched.config, cost_radius=0, loss="mse", synthetic_fraction=0.3)
    assert records._changes("matched", matched.config, plain) == "a cost volume (radius 1), charbonnier loss, 0% synthetic"
    wider = loop.train("flow_time", run_dir=tmp_path / "wider", data_dir=tiny_corpus, max_steps=0,
                          log=lambda s: None, warm_start=str(time_dir / "best.weights.h5"),
                          **{**TINY, "base_filters": 8})  # twice as wide, started as the donor
    assert wider.history[0].val_psnr == pytest.approx(donor.best.val_psnr, abs=1e-3)
    assert records._changes("wider", wider.config, donor.config) == "8 filters"
    (tmp_path / "training" / "update").mkdir()
    for name in ("state.json", "best.weights.h5"):
        (tmp_path / "update" / name).rename(tmp_path / "training" / "update" / name)
    assert [entry[:2] for entry in records.continuations(tmp_path / "training")["flow_time"]] == \
        [("update", "with a flow correction")]
    assert records.status(tmp_path / "training")[-1].startswith("update: 0 steps")
    (tmp_path / "training" / "deeper").mkdir()  # a run started from the continuation continues the time run too
    raw = json.loads((tmp_path / "deeper" / "state.json").read_text())
    raw["warm_start"]["weights"] = str(tmp_path / "training" / "update" / "best.weights.h5")
    (tmp_path / "training" / "deeper" / "state.json").write_text(json.dumps(raw))
    assert [entry[:2] for entry in records.continuations(tmp_path / "training")["flow_time"]] == \
        [("update", "with a flow correction"), ("deeper", "3 levels")]
    with pytest.raises(ValueError, match="no flows to correct"):
        run_state.RunConfig.for_model("unet", flow_update=True)
    with pytest.raises(ValueError, match="no flows to match around"):
        run_state.RunConfig.for_model("unet", cost_radius=3)


def test_a_distilled_run_trains_on_the_teacher_resumes_and_ships_the_plain_network(tiny_corpus, tmp_path):
    flow_dir, run_dir = tmp_path / "training" / "flow", tmp_path / "training" / "taught"
    loop.train("flow", run_dir=flow_dir, data_dir=tiny_corpus, max_steps=0, log=lambda s: None, **TINY)
    for steps in (2, 4):  # the second call resumes the view's weights and Adam's moments
        state = loop.train("flow_time", run_dir=run_dir, data_dir=tiny_corpus, max_steps=steps, log=lambda s: None,
                              warm_start=str(flow_dir / "best.weights.h5"), flow_update=True, distill=0.01,
                              learning_rate=1e-2, **TINY) if steps == 2 else \
            loop.train("flow_time", run_dir=run_dir, data_dir=tiny_corpus, max_steps=steps, log=lambda s: None)
    assert state.step == 4 and state.config.distill == 0.01
    assert state.history[1].train_loss > 0 and state.history[-1].val_psnr != state.history[0].val_psnr
    assert loop.promote_run(run_dir, tmp_path / "models" / "taught.keras", tiny_corpus)
    shipped = keras.saving.load_model(tmp_path / "models" / "taught.keras")
    assert shipped.output.shape[-1] == 3  # the network, not the training view
    with pytest.raises(ValueError, match="give --flow-update too"):
        run_state.RunConfig.for_model("flow_time", distill=0.01)


def test_weight_average_is_what_validation_judges_and_resumes(tiny_corpus, tmp_path):
    run_dir = tmp_path / "run"
    state = loop.train("flow", run_dir=run_dir, data_dir=tiny_corpus, max_steps=4, log=lambda s: None,
                          learning_rate=1e-2, ema=0.999999, **TINY)
    start, last = state.history[0].val_psnr, state.history[-1]
    # a decay of almost 1 keeps the average at the starting weights while the network itself moves
    assert last.val_psnr == pytest.approx(start, abs=1e-3) and last.val_psnr_raw != pytest.approx(start, abs=1e-3)
    assert (run_dir / "ema.weights.h5").is_file()
    state = loop.train("flow", run_dir=run_dir, data_dir=tiny_corpus, max_steps=6, log=lambda s: None, ema=0.5)
    assert state.config.ema == 0.5 and state.history[-1].val_psnr_raw is not None
    plain = loop.train("flow", run_dir=tmp_path / "plain", data_dir=tiny_corpus, max_steps=4, log=lambda s: None,
                          learning_rate=1e-2, **TINY)
    turned_on = loop.train("flow", run_dir=tmp_path / "plain", data_dir=tiny_corpus, max_steps=6,
                              log=lambda s: None, ema=0.999999)  # starts from the resumed weights, not fresh ones
    assert turned_on.history[-1].val_psnr == pytest.approx(plain.history[-1].val_psnr, abs=1e-3)
    with pytest.raises(ValueError, match="ema must be in"):
        loop.train("flow", run_dir=tmp_path / "bad", data_dir=tiny_corpus, max_steps=2, log=lambda s: None,
                      ema=1.5, **TINY)
    with pytest.raises(ValueError, match="synthetic_fraction must be in"):
        loop.train("flow", run_dir=tmp_path / "plain", data_dir=tiny_corpus, max_steps=8, log=lambda s: None,
                      synthetic_fraction=1.5)


def test_command_line_options_reach_a_new_run(monkeypatch, tmp_path):
    seen = {}

    def train(model, hours, run_dir, data_dir, **overrides):
        seen.update(model=model, **overrides)
        return run_state.RunState.new(run_state.RunConfig.for_model(model))

    monkeypatch.setattr(loop, "train", train)
    monkeypatch.setattr(records, "status", lambda root: [])
    code = longrun.main(["--model", "flow_time", "--hours", "0", "--run-dir", str(tmp_path / "run"), "--flow-update",
                         "--distill", "0.01", "--depth", "5", "--crop", "256", "192", "--batch-size", "4",
                         "--source-balance", "0.5", "--cost-volume", "3",
                         "--synthetic-fraction", "0", "--base-filters", "24"])
    assert code == 0
    assert seen == {"model": "flow_time", "flow_update": True, "distill": 0.01, "depth": 5, "crop": (256, 192),
                    "batch_size": 4, "source_balance": 0.5, "cost_radius": 3,
                    "synthetic_fraction": 0.0, "base_filters": 24}
    seen.clear()
    assert longrun.main(["--model", "flow_time", "--hours", "0", "--run-dir", str(tmp_path / "run"),
                         "--scaled-share", "1", "--detail-only", "--detail-head"]) == 0
    assert seen == {"model": "flow_time", "scaled_share": 1.0, "detail_head": True, "detail_only": True}


def test_rejudge_scores_every_run_and_shipped_model_on_the_balanced_set(tiny_corpus, tmp_path):
    from utils.training import rejudge

    root, models = tmp_path / "training", tmp_path / "models"
    loop.train("flow", run_dir=root / "flow", data_dir=tiny_corpus, max_steps=2, log=lambda s: None, **TINY)
    loop.train("flow_time", run_dir=root / "flow_time", data_dir=tiny_corpus, max_steps=2, log=lambda s: None,
               warm_start=str(root / "flow" / "best.weights.h5"), **TINY)
    loop.promote_run(root / "flow_time", models / "flow_time_corpus.keras", tiny_corpus)
    found = rejudge.candidates(root, models)
    assert sorted(entry["name"] for entry in found) == ["flow", "flow_time", "shipped flow_time_corpus.keras"]
    result = rejudge.judge_all(found, sampler.Corpus(tiny_corpus), count=4, progress=lambda line: None)
    assert set(result["families"]) == {"flow", "flow_time"}
    rows = {row["name"]: row for row in result["families"]["flow_time"]["rows"]}
    shipped, run = rows["shipped flow_time_corpus.keras"], rows["flow_time"]
    assert shipped["balanced"] == pytest.approx(run["balanced"], abs=1e-3)  # the run's best is what was shipped
    assert run["balanced"] == pytest.approx(run_state.read_state(root / "flow_time").best.val_psnr, abs=2e-3)
    assert run["old_judge"] == "balanced" and "half_size_gain" in run and sorted(r["rank"] for r in rows.values()) == [1, 2]
    assert list(run["groups"]) == ["all"]
    text = rejudge.table(result)
    assert "| balanced gain | half size |" in text and "shipped flow_time_corpus.keras" in text
    assert rejudge.main(["--out", str(tmp_path / "x.txt")]) == 2
    groups = rejudge.groups_table(result).splitlines()
    assert groups[0] == "| validation group (triplets) | time flow UNet, over DIS |"
    count = result['families']['flow_time']['group_counts']['all']
    assert groups[2] == f"| all ({count}) | {shipped['groups']['all']:+.2f} |" and groups[3].startswith("| **balanced mean** |")
    views = rejudge.judge_ensembles(sampler.Corpus(tiny_corpus), models / "flow_time_corpus.keras", count=4,
                                    progress=lambda line: None)
    single = {row["size"]: row for row in views["rows"] if row["views"] == 1}
    assert single["full"]["balanced_gain"] == pytest.approx(shipped["balanced_gain"], abs=1e-3)
    assert single["half"]["balanced_gain"] == pytest.approx(shipped["half_size_gain"], abs=1e-3)
    assert [(row["size"], row["views"]) for row in views["rows"]] == [(s, n) for s in ("full", "half") for n in (1, 2, 4)]
    assert "| full | 4 |" in rejudge.ensembles_table(views) and "`--ensemble auto`" in rejudge.ensembles_table(views)
