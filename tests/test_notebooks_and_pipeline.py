"""The notebooks' structure, and the whole chain through papermill with the smoke profile."""

from __future__ import annotations

import json
import re

import pytest

from utils import colab, paths, pipeline

NOTEBOOK_DIR = paths.repo_root() / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_the_numbered_sequence_is_there():
    assert [p.name for p in NOTEBOOKS] == list(pipeline.NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path):
    cells = _cells(path)
    first = "".join(cells[0]["source"])
    assert first.startswith("# ") and colab.badge_url(path.name) in first
    code = [c for c in cells if c["cell_type"] == "code"]
    assert 'if "google.colab" in sys.modules:' in "".join(code[0]["source"])
    tagged = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    parameters = "".join(tagged[0]["source"])
    assert re.search(r'^profile = "default"$', parameters, re.M)
    for line in parameters.splitlines():  # plain literals only: papermill overrides them
        assert re.fullmatch(r'\w+ = ("[^"]*"|True|False|-?[\d.]+)', line), line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_ran_top_to_bottom(path):
    code = [c for c in _cells(path) if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in code]
    assert None not in counts and counts == sorted(counts), "re-run the notebook top to bottom before committing"
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert "-p profile smoke" not in json.dumps(_cells(path)) and '"smoke"' not in "".join(
        "".join(c["source"]) for c in code if "parameters" in c["metadata"].get("tags", []))


def test_pipeline_refuses_bad_names():
    with pytest.raises(ValueError, match="Unknown profile 'fast'"):
        pipeline.run_pipeline(profile="fast")
    with pytest.raises(ValueError, match="Unknown loss 'l2'"):
        pipeline.run_pipeline(profile="smoke", losses_to_train=["l2"])


@pytest.mark.slow
def test_smoke_pipeline_end_to_end(tmp_path, capsys):
    results = tmp_path / "results"
    executed = pipeline.run_pipeline(profile="smoke", output_dir=tmp_path / "executed", data_dir=tmp_path / "data",
                                     results_dir=results, runs_dir=tmp_path / "runs")
    assert [p.name for p in executed] == [
        "01_data_preparation.ipynb", "02_unet_model.ipynb", "03_losses.ipynb", "04_training_mse.ipynb",
        "04_training_charbonnier.ipynb", "04_training_ssim.ipynb", "05_results.ipynb"]
    progress = capsys.readouterr().out
    assert "[7/7] 05_results.ipynb" in progress
    metrics = json.loads((results / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"frame average", "UNet mse", "UNet charbonnier", "UNet ssim"}
    for result in metrics["methods"].values():
        assert 10 < result["psnr"] < 100 and 0 < result["ssim"] <= 1
        assert set(result["groups"]) == {"bigbuckbunny", "bikes", "carphone"}
    for name in ("comparison.png", "training_curves.png", "bikes_interpolated.gif", "bikes_true.gif",
                 "bigbuckbunny_interpolated.gif", "bigbuckbunny_true.gif"):
        assert (results / name).stat().st_size > 1000, name
    for loss in ("mse", "charbonnier", "ssim"):
        record = json.loads((results / "models" / f"{loss}.json").read_text())
        assert record["profile"]["name"] == "smoke" and record["steps"] == 6
