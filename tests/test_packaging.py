"""The README's promises about installation and results stay true."""

from __future__ import annotations

import json
import re
import tomllib

from utils import paths

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
    table = re.search(r"<!-- results-table.*?-->\n(.*?)\n<!-- end results-table -->", README, re.S).group(1)
    assert table.strip() == (ROOT / "results" / "metrics.md").read_text().strip()


def test_readme_video_table_is_the_committed_one():
    table = re.search(r"<!-- video-table.*?-->\n(.*?)\n<!-- end video-table -->", README, re.S).group(1)
    assert table.strip() == (ROOT / "results" / "video_interpolation.md").read_text().strip()
    scores = json.loads((ROOT / "results" / "video_interpolation.json").read_text())["scores"]
    for clip, methods in scores.items():
        for method, values in methods.items():
            row = next(line for line in table.splitlines() if line.startswith(f"| {method} |"))
            assert f"{sum(values['psnr']) / len(values['psnr']):.2f} / " in row, (clip, method)


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


def test_readme_benchmarks_are_the_committed_ones():
    block = re.search(r"<!-- benchmarks:.*?-->\n(.*?)\n<!-- end benchmarks -->", README, re.S).group(1)
    committed = (ROOT / "results" / "benchmarks.md").read_text()
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    assert rows and rows == [line for line in committed.splitlines() if line.startswith("| ")]
