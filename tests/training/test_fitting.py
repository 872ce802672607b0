"""Training helpers: a step lowers the loss, an interrupted fit resumes, weights ship only when better."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from utils import hardware, paths
from utils.data import vimeo
from utils.models import interpolator
from utils.training import fitting


def _batch(vimeo_root):
    dataset = vimeo.make_dataset([(vimeo_root, vimeo.read_triplet_list(vimeo_root, "train"))], 4, (32, 32), seed=0)
    return next(iter(dataset))


@pytest.mark.parametrize("loss", ["mse", "charbonnier", "ssim"])
def test_training_steps_lower_the_loss(vimeo_root, loss):
    inputs, target = _batch(vimeo_root)
    model = fitting.build_and_compile(loss, base_filters=8, depth=3, learning_rate=3e-3, output_mode="direct")
    before = float(model.evaluate(inputs, target, verbose=0, return_dict=True)["loss"])
    for _ in range(5):
        model.train_on_batch(inputs, target)
    after = float(model.evaluate(inputs, target, verbose=0, return_dict=True)["loss"])
    assert after < before


def test_mixed_bfloat16_trains(vimeo_root):
    inputs, target = _batch(vimeo_root)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = fitting.build_and_compile("charbonnier", 8, 3, 3e-3, "residual")
    assert model.get_layer("down0_conv1").compute_dtype == "bfloat16"
    assert model.output.dtype == "float32"
    logs = model.train_on_batch(inputs, target, return_dict=True)
    assert np.isfinite(logs["loss"])


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated interruption")


def test_interrupted_fit_resumes(vimeo_root, tmp_path):
    inputs, target = _batch(vimeo_root)
    run_dir = tmp_path / "run"

    def fit(extra_callbacks):
        model = fitting.build_and_compile("mse", 4, 2, 1e-3, "residual")
        return model.fit(inputs, target, validation_data=(inputs, target), epochs=4, batch_size=4, verbose=0,
                         callbacks=[*fitting.make_callbacks(run_dir), *extra_callbacks])

    with pytest.raises(KeyboardInterrupt):
        fit([_Interrupt(at_epoch=1)])  # epochs 0 and 1 finish, then the "kernel dies"
    assert (run_dir / "backup").exists()
    history = fit([])
    assert len(history.epoch) == 2  # only epochs 2 and 3 ran again
    log = fitting.read_history(run_dir)
    assert log["epoch"] == [0, 1, 2, 3]  # the log spans both runs
    assert len(log["epoch_seconds"]) == 4 and min(log["epoch_seconds"]) > 0
    assert (run_dir / "best.keras").is_file() and not (run_dir / "backup").exists()


def test_promote_only_when_better(tmp_path):
    candidate = tmp_path / "candidate.keras"
    destination = tmp_path / "results" / "models" / "mse.keras"
    candidate.write_bytes(b"first")
    record = {"metrics": {"psnr": 30.0}, "evaluated_on": "clips"}
    assert fitting.promote_if_better(candidate, record, destination)
    candidate.write_bytes(b"worse")
    assert not fitting.promote_if_better(candidate, {"metrics": {"psnr": 29.0}, "evaluated_on": "clips"}, destination)
    assert destination.read_bytes() == b"first"
    candidate.write_bytes(b"better")
    assert fitting.promote_if_better(candidate, {"metrics": {"psnr": 31.0}, "evaluated_on": "clips"}, destination)
    assert destination.read_bytes() == b"better"
    assert json.loads(destination.with_suffix(".json").read_text())["metrics"]["psnr"] == 31.0
    # Scores measured on other triplets are not comparable: the new model replaces the old one.
    candidate.write_bytes(b"other data")
    assert fitting.promote_if_better(candidate, {"metrics": {"psnr": 1.0}, "evaluated_on": "vimeo"}, destination)
    assert sorted(p.name for p in destination.parent.iterdir()) == ["mse.json", "mse.keras"]


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.keras"):
        interpolator.load_model(tmp_path / "absent.keras")
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="broken.keras"):
        interpolator.load_model(broken)


def test_precision_choice(monkeypatch):
    assert hardware.choose_precision("float32") == "float32"
    with pytest.raises(ValueError, match="Unknown precision 'fp8'"):
        hardware.choose_precision("fp8")
    monkeypatch.setattr(hardware, "hardware_summary", lambda: {"tpu": False, "gpus": [], "cpu_bfloat16": True})
    assert hardware.choose_precision() == "mixed_bfloat16"
    monkeypatch.setattr(hardware, "hardware_summary", lambda: {"tpu": False, "gpus": ["H100"], "cpu_bfloat16": True})
    assert hardware.choose_precision() == "mixed_float16"
    monkeypatch.setattr(hardware, "hardware_summary", lambda: {"tpu": False, "gpus": [], "cpu_bfloat16": False})
    assert hardware.choose_precision() == "float32"


def test_default_strategy_on_one_device(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = hardware.choose_strategy()
    assert strategy.num_replicas_in_sync == 1


def test_read_history_needs_a_log(tmp_path):
    with pytest.raises(FileNotFoundError, match="history.csv"):
        fitting.read_history(tmp_path / "never_trained")


def test_display_paths_are_repository_relative(tmp_path):

    assert paths.display(paths.repo_root() / "results" / "models" / "mse.keras") == "results/models/mse.keras"
    assert paths.display(tmp_path / "elsewhere.keras") == str((tmp_path / "elsewhere.keras").resolve())


def test_cpu_model_and_bfloat16_from_cpuinfo():
    cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu avx512f avx512_bf16\n"
    assert hardware.cpu_model(cpuinfo) == "AMD EPYC 9R14"
    assert hardware.cpu_has_bfloat16(cpuinfo)
    assert not hardware.cpu_has_bfloat16("flags\t\t: fpu avx2\n")
    assert hardware.cpu_model("") != ""  # falls back to what the platform module knows
