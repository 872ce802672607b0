"""`python -m utils.evaluation.evaluate` on a small Vimeo-layout fixture, and checkpoint loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from utils import paths
from utils.evaluation import evaluate, scoring
from utils.models import interpolator, unet


@pytest.fixture
def checkpoints(tmp_path):
    flow_path = tmp_path / "flow_tiny.keras"
    unet.build_unet(4, 2, "flow").save(flow_path)
    direct_path = tmp_path / "mse.keras"
    unet.build_unet(4, 2, "residual").save(direct_path)
    return flow_path, direct_path


def test_all_methods_with_saved_predictions(vimeo_root, checkpoints, tmp_path, capsys):
    save_dir = tmp_path / "predictions"
    code = evaluate.main(["--data-root", str(vimeo_root), "--checkpoint", *map(str, checkpoints),
                          "--save-dir", str(save_dir), "--timing-size", "64x48"])
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out)
    assert result["triplets"] == 2
    assert list(result["methods"]) == ["flow UNet tiny", "UNet mse", "frame average", "DIS flow",
                                       "minterpolate"]
    for name, scores in result["methods"].items():
        assert 10 < scores["psnr"] < 100 and 0 < scores["ssim"] <= 1, name
        assert scores["groups"]["00002"]["triplets"] == 2
        assert scores["ms_per_frame_64x48"] > 0
    # The untrained flow model is the DIS baseline, the untrained residual model is averaging.
    assert result["methods"]["flow UNet tiny"]["psnr"] == pytest.approx(result["methods"]["DIS flow"]["psnr"], abs=0.01)
    assert result["methods"]["UNet mse"]["psnr"] == pytest.approx(result["methods"]["frame average"]["psnr"], abs=0.01)
    written = sorted(p.name for p in (save_dir / "sequences" / "00002" / "0001").iterdir())
    assert written == ["DIS_flow.png", "UNet_mse.png", "flow_UNet_tiny.png", "frame_average.png",
                       "minterpolate.png"]
    assert "[2/2] 00002/0002" in captured.err


def test_explicit_list_and_method_subset(vimeo_root, tmp_path, capsys):
    listing = tmp_path / "two.txt"
    listing.write_text("00001/0001\n00001/0002\n")
    assert evaluate.main(["--data-root", str(vimeo_root), "--list", str(listing), "--methods", "average", "dis",
                          "--timing-size", "off"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result["methods"]) == ["frame average", "DIS flow"]
    assert list(result["methods"]["DIS flow"]["groups"]) == ["00001"]


@pytest.mark.parametrize("problem,message", [
    ("missing root", "Data root not found"),
    ("empty list", "is empty"),
    ("broken checkpoint", "Cannot load model"),
    ("missing checkpoint", "Model file not found"),
    ("unknown method", "Unknown method 'flownet'"),
])
def test_clear_errors(vimeo_root, tmp_path, capsys, problem, message):
    arguments = ["--data-root", str(vimeo_root), "--timing-size", "off"]
    if problem == "missing root":
        arguments[1] = str(tmp_path / "nowhere")
        arguments += ["--methods", "average"]
    elif problem == "empty list":
        (vimeo_root / "tri_testlist.txt").write_text("\n")
        arguments += ["--methods", "average"]
    elif problem == "broken checkpoint":
        broken = tmp_path / "broken.keras"
        broken.write_bytes(b"not a keras file")
        arguments += ["--checkpoint", str(broken)]
    elif problem == "missing checkpoint":
        arguments += ["--checkpoint", str(tmp_path / "absent.keras")]
    else:
        arguments += ["--methods", "flownet"]
    assert evaluate.main(arguments) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_command_line_entry_point(vimeo_root):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    completed = subprocess.run(
        [sys.executable, "-m", "utils.evaluation.evaluate", "--data-root", str(vimeo_root), "--methods", "average",
         "--timing-size", "off"], capture_output=True, text=True, cwd=paths.repo_root(), env=environment, check=False)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["methods"]["frame average"]["groups"]["00002"]["triplets"] == 2


def test_shipped_flow_model_loads():
    shipped = paths.resolve("results/models/flow_charbonnier.keras")  # made by notebooks/04_training.ipynb (flow head)

    model = interpolator.load_model(shipped)
    assert unet.input_channels(model) == 10
    record = json.loads(shipped.with_suffix(".json").read_text())
    assert record["output_mode"] == "flow" and record["metrics"]["psnr"] > record["frame_average"]["psnr"]
    assert shipped.stat().st_size < 25 * 2**20


def test_scores_at_quarter_times_on_windows_of_real_frames():

    ramp = [np.full((24, 32, 3), 20 * k, np.uint8) for k in range(9)]  # brightness rises linearly: averaging is exact
    noise = [np.full((24, 32, 3), 40 + 120 * (k % 2), np.uint8) for k in range(9)]  # flicker: blending cannot follow
    average = interpolator.BASELINES["average"]
    methods = {"frame average": lambda a, b, ts: interpolator.frames_between(average, a, b, ts)}
    result = scoring.evaluate_times(methods, {"ramp": ramp, "noise": noise}, [0.25, 0.5, 0.75], span=4)
    assert result["windows"] == 2 + 2 and set(result["times"]) == {"0.25", "0.5", "0.75"}
    for t in ("0.25", "0.5", "0.75"):
        scores = result["times"][t]["methods"]["frame average"]["groups"]
        assert scores["ramp"]["psnr"] > 50 and scores["ramp"]["triplets"] == 2
        # the flicker's truth at 1/4 and 3/4 is the other level, at 1/2 the level of both ends
        assert (scores["noise"]["psnr"] < 20) == (t != "0.5")
    table = scoring.times_table(result)
    assert table.splitlines()[0] == "| method | t = 0.25 PSNR / SSIM | t = 0.5 PSNR / SSIM | t = 0.75 PSNR / SSIM |"


def test_times_need_whole_frames_and_the_test_clips(capsys, vimeo_root):
    assert scoring.time_span([0.25, 0.5, 0.75]) == 4 and scoring.time_span([1 / 3, 2 / 3]) == 3
    with pytest.raises(ValueError, match="multiples of 1/n"):
        scoring.time_span([0.3001])
    assert evaluate.main(["--times", "0.25", "0.75", "--data-root", str(vimeo_root)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: --times scores windows of the three test clips") and "\n" not in error


def test_method_labels_name_the_model_kind():
    assert interpolator.method_label("results/models/mse.keras") == "UNet mse"
    assert interpolator.method_label("results/models/flow_corpus.keras") == "flow UNet corpus"
    assert interpolator.method_label("results/models/flow_time_corpus.keras") == "time flow UNet corpus"
    assert interpolator.method_label("results/models/unet_corpus.keras") == "UNet corpus"


def test_the_command_offers_the_loaders_methods():
    """The command names its choices without importing TensorFlow; they are the loader's."""
    assert evaluate.METHOD_CHOICES == interpolator.METHOD_CHOICES
