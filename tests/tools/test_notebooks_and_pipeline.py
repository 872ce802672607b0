"""The notebooks' structure, and the whole chain through papermill with the smoke profile."""

from __future__ import annotations

import json
import re

import pytest

from utils import paths
from utils.tools import colab, pipeline

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
def test_text_cells_teach_and_records_live_in_results(path):
    """A markdown cell says one idea (at most about 2,000 characters); logs of runs belong in results/."""
    long = {index: len("".join(c["source"])) for index, c in enumerate(_cells(path))
            if c["cell_type"] == "markdown" and len("".join(c["source"])) > 2000}
    assert not long, f"markdown cells over 2,000 characters (cell: length): {long}"


def test_the_long_run_record_is_linked_from_notebook_4_and_the_readme():
    record = paths.repo_root() / "results" / "training" / "README.md"
    assert record.is_file() and "## The PSNR loss" in record.read_text()
    assert "../results/training/README.md" in json.dumps(_cells(NOTEBOOK_DIR / "04_training.ipynb"))
    assert "(results/training/README.md)" in (paths.repo_root() / "README.md").read_text()


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
                                     results_dir=results, runs_dir=tmp_path / "runs", images_dir=tmp_path / "images")
    assert [p.name for p in executed] == [
        "01_data_preparation.ipynb", "02_unet_model.ipynb", "03_losses.ipynb", "04_training_mse.ipynb",
        "04_training_charbonnier.ipynb", "04_training_ssim.ipynb", "04_training_flow_charbonnier.ipynb",
        "05_results.ipynb", "06_video_interpolation.ipynb"]
    progress = capsys.readouterr().out
    assert "[9/9] 06_video_interpolation.ipynb" in progress
    metrics = json.loads((results / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"frame average", "DIS flow", "minterpolate", "UNet mse", "UNet charbonnier",
                                       "UNet ssim", "flow UNet charbonnier"}
    for result in metrics["methods"].values():
        assert 10 < result["psnr"] < 100 and 0 < result["ssim"] <= 1 and result["ms_per_frame_448x256"] > 0
        assert set(result["groups"]) == {"00001", "00002", "00003"}
    assert metrics["clip_names"] == {"00001": "bigbuckbunny", "00002": "bikes", "00003": "carphone"}
    assert (results / "metrics.md").read_text().startswith("| method | bigbuckbunny PSNR / SSIM |")
    for name in ("comparison.png", "bikes_interpolated.gif", "bikes_true.gif",
                 "bigbuckbunny_interpolated.gif", "bigbuckbunny_true.gif", "bikes_side_by_side.gif"):
        assert (results / name).stat().st_size > 1000, name
    for name in ("occlusion.png", "unet_architecture.png", "flow_unet_architecture.png", "flow_and_mask.png",
                 "header.png", "training_curves.png"):
        assert (tmp_path / "images" / name).stat().st_size > 1000, name
    video = json.loads((results / "video_interpolation.json").read_text())
    assert video["checkpoint"].endswith("results/models/flow_charbonnier.keras")
    assert video["shipped"] == "results/models/flow_time_corpus.keras"  # notebook 6 shows the shipped model too
    for clip in ("bigbuckbunny", "bikes", "carphone"):
        assert list(video["scores"][clip]) == ["time flow UNet (shipped)", "flow UNet (notebook 4)", "DIS flow",
                                               "frame average", "minterpolate"]
        assert len(video["scores"][clip]["minterpolate"]["psnr"]) == len(video["rebuilt_frames"][clip]) == 3
    for name in ("video_interpolation.md", "video_psnr.png", "video_side_by_side.gif"):
        assert (results / name).stat().st_size > 100, name
    for name in ("mse", "charbonnier", "ssim", "flow_charbonnier"):
        record = json.loads((results / "models" / f"{name}.json").read_text())
        assert record["profile"]["name"] == "smoke" and record["steps"] == 6


def test_plan_trains_each_loss_then_the_flow_head():
    runs = pipeline.plan(["mse", "ssim"])
    assert [extra for notebook, extra in runs if notebook == pipeline.TRAINING_NOTEBOOK] == [
        {"loss": "mse"}, {"loss": "ssim"}, {"loss": "charbonnier", "output_mode": "flow"}]
    assert [notebook for notebook, _ in pipeline.plan(["mse"], flow=False)] == [
        "01_data_preparation.ipynb", "02_unet_model.ipynb", "03_losses.ipynb", "04_training.ipynb", "05_results.ipynb",
        "06_video_interpolation.ipynb"]


def test_startup_noise_is_dropped_and_real_stderr_kept(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import tensorflow")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=(
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1795641921.022489    3288 port.cc:153] oneDNN custom operations are on.\n")),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something the reader should see\n"),
        nbformat.v4.new_output("stream", name="stdout", text="TensorFlow 2.21.0\n"),
    ]
    notebook.cells.append(cell)
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, str(path))
    assert pipeline.drop_startup_noise(path) == 1
    kept = nbformat.read(str(path), as_version=4).cells[0].outputs
    assert [o.text for o in kept] == ["UserWarning: something the reader should see\n", "TensorFlow 2.21.0\n"]
