"""The README's promises about installation and results stay true."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from utils import paths
from utils.evaluation import scoring

ROOT = paths.repo_root()
README = (ROOT / "README.md").read_text()


def _pins_from_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def test_environment_yml_has_the_same_pins():
    conda = set(re.findall(r"^\s+- ([\w.-]+==[\w.]+)$", (ROOT / "environment.yml").read_text(), re.M))
    assert conda == _pins_from_pyproject()


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"^make (\w+) ", README, re.M)
    assert commands[:2] == ["demo", "test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_results_table_is_the_committed_one():
    assert _block("results-table") == (ROOT / "results" / "metrics.md").read_text().strip()


def _block(name: str) -> str:
    match = re.search(rf"<!-- {name}.*?-->\n(.*?)\n<!-- end {name} -->", README, re.S)
    assert match, f"README has no {name} block"
    return match.group(1).strip()


def test_readme_test_clip_table_is_the_committed_one():
    table = _block("test-table")
    assert table == (ROOT / "results" / "evaluation_test_clips.md").read_text().strip()
    result = json.loads((ROOT / "results" / "evaluation_test_clips.json").read_text())
    assert result["triplets"] == 476 and result["data_root"].endswith("test_clips")
    for name, scores in result["methods"].items():
        row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
        assert f"{scores['psnr']:.2f} / {scores['ssim']:.4f}" in row


def test_readme_validation_groups_are_the_committed_rejudging():
    """The shipped models' gain per validation group: README = results/validation_groups.md = the rejudged
    record's shipped rows, judged on the validation set the shipped records name."""
    from utils.training import rejudge

    table = (ROOT / "results" / "validation_groups.md").read_text().strip()
    assert _block("validation-table") == table
    record = json.loads((ROOT / "results" / "training" / "rejudged.json").read_text())
    assert rejudge.groups_table(record) == table
    for family, entry in record["families"].items():  # the files judged are the shipped ones (make rejudge after a promotion)
        row = next(row for row in entry["rows"] if row["name"].startswith("shipped"))
        assert row["file_digest"] == paths.digest(ROOT / "results" / "models" / f"{family}_corpus.keras")


def test_readme_corpus_table_is_the_committed_one():
    assert _block("corpus-table") == (ROOT / "results" / "corpus.md").read_text().strip()


def test_video_table_matches_its_scores():
    table = (ROOT / "results" / "video_interpolation.md").read_text()
    scores = json.loads((ROOT / "results" / "video_interpolation.json").read_text())["scores"]
    for clip, methods in scores.items():
        for method, values in methods.items():
            row = next(line for line in table.splitlines() if line.startswith(f"| {method} |"))
            assert f"{sum(values['psnr']) / len(values['psnr']):.2f} / " in row, (clip, method)


def test_readme_is_a_front_page():
    assert len(README.encode()) <= 12_288, f"README.md is {len(README.encode())} bytes; details belong in results/"


def test_results_table_matches_metrics_json():
    metrics = json.loads((ROOT / "results" / "metrics.json").read_text())
    table = (ROOT / "results" / "metrics.md").read_text()
    for name, result in metrics["methods"].items():
        row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
        assert f"{result['psnr']:.2f} / {result['ssim']:.4f}" in row


def test_readme_figures_exist():
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).is_file(), target


def test_benchmarks_are_linked_and_hold_the_corpus_reader():
    assert "results/benchmarks.md" in README
    committed = (ROOT / "results" / "benchmarks.md").read_text()
    measured = json.loads((ROOT / "results" / "benchmarks.json").read_text())
    for row in measured["input"]["rows"]:
        assert f"| {row['triplets_per_second']:.0f} |" in committed, row["reader"]
    assert {"corpus", "corpus+prior"} <= {row["reader"] for row in measured["input"]["rows"]}


def test_times_table_is_the_committed_one():
    """The table at t = 1/4, 1/2, 3/4 the README links to is the file the evaluation command wrote from its JSON."""

    assert "(results/evaluation_times.md)" in README
    table = (ROOT / "results" / "evaluation_times.md").read_text().strip()
    result = json.loads((ROOT / "results" / "evaluation_times.json").read_text())
    assert scoring.times_table(result) == table
    assert [float(t) for t in result["times"]] == [0.25, 0.5, 0.75]


def _make(*arguments: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), *arguments], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_make_fails_when_a_piped_command_fails():
    """Recipes run with pipefail: `cmd | tee log` (make train) fails when cmd fails."""
    assert _make("--eval", "probe: ; false | tee /dev/null", "probe").returncode != 0
    assert _make("--eval", "probe: ; true | tee /dev/null", "probe").returncode == 0


def test_make_picks_a_supported_python_or_says_what_to_do(tmp_path):
    chosen = _make("--eval", "show: ; @echo $(PYTHON)", "show").stdout.strip()
    version = subprocess.run([chosen, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                             text=True, check=True).stdout.strip()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = (tuple(int(part) for part in bound.split(".")) for bound in re.findall(r"\d+\.\d+", declared))
    assert low <= ast.literal_eval(version) < high  # (3, 11) within ">=3.10,<3.13"
    missing = _make("install", "PYTHON=", f"VENV={tmp_path / 'venv'}")
    assert missing.returncode != 0 and "no python3.11, python3.12 or python3.10 on PATH" in missing.stderr
    assert "PYTHON=" in missing.stderr and not (tmp_path / "venv").exists()


def test_pyproject_declares_what_make_looks_for():
    makefile = (ROOT / "Makefile").read_text()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert declared == ">=3.10,<3.13" and "for version in 3.11 3.12 3.10" in makefile
    assert "(3, 10) <= sys.version_info[:2] <= (3, 12)" in makefile


def test_console_commands_work_from_a_folder_holding_a_utils_py(tmp_path):
    """The installed scripts import the package, not whatever ``utils`` the current folder holds."""
    (tmp_path / "utils.py").write_text("raise SystemExit('the folder\\'s own utils.py was imported')\n")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts.values()) == {f"{module}:main" for module in paths.COMMANDS}
    for script, target in scripts.items():
        assert paths.COMMANDS[target.split(":")[0]] == script
    for script in ("vfi-video", "vfi-evaluate", "vfi-train"):
        done = subprocess.run([str(Path(sys.executable).with_name(script)), "--help"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-1000:]
        assert done.stdout.startswith(f"usage: {script}")


def test_committed_test_clip_scores_are_of_the_shipped_models():
    # notebook 5 reads this file instead of re-scoring when it names the model files beside it (make evaluate-test)
    from utils.models import interpolator

    models = [ROOT / "results" / "models" / f"{name}.keras" for name in ("flow_corpus", "flow_time_corpus", "unet_corpus")]
    result = json.loads((ROOT / "results" / "evaluation_test_clips.json").read_text())
    assert result["checkpoints"] == interpolator.checkpoint_digests(models)
    assert set(result["checkpoints"]) < set(result["methods"])


def test_readme_video_speed_and_quality_are_the_benchmarks():
    from utils.tools import bench_report

    video = json.loads((ROOT / "results" / "benchmarks.json").read_text())["video"]
    assert _block("video-table") == bench_report.video_table(video)
    methods = video["quality"]["methods"]
    gains = {name: methods[name]["psnr"] - methods["DIS flow"]["psnr"] for name in ("default", "--scale 1")}
    assert (f"on the test clips at their own size it is {gains['default']:.2f} dB above DIS, "
            f"{gains['--scale 1']:.2f} at `--scale 1`") in README.replace("\n", " ")
