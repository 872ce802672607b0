"""The notebooks as a reader meets them: JupyterLab on loopback, headless Chromium, a screenshot per notebook.

Opens every notebook in JupyterLab with Debian's ``chromium`` (driven by Playwright; no browser is
downloaded), checks that it renders with its committed outputs, runs every cell of the results notebook
(the one with the interactive viewer) and moves the viewer's slider. Fails on a kernel error, a widget
that does not render (missing widget manager), or a notebook that does not open. Screenshots are saved
to ``build/screenshots/browser_<notebook>.jpg`` (a test run rewrites no committed file); with
``SCREENSHOT_DIR=images`` they refresh the committed ``images/browser_*.jpg`` that the README shows.

Skipped, with the reason, where Chromium is not installed (``apt-get install chromium`` on Debian).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from utils import paths

ROOT = paths.repo_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGET_NOTEBOOK = "05_results.ipynb"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium): "
                                                "the browser test needs a real browser and downloads none"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mirror(folder: Path) -> Path:
    """A repository root for the browser session whose runs cannot touch committed files.

    Notebooks and ``results/`` are copied (running the results notebook rewrites its metrics and
    figures); ``utils/`` and ``data/`` are linked (code and prepared data are only read, or built once).
    """
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    shutil.copytree(ROOT / "results", folder / "results")
    (folder / "images").mkdir()
    (ROOT / "data").mkdir(exist_ok=True)
    for name in ("utils", "data"):
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    return folder


@contextlib.contextmanager
def jupyterlab(log_path: Path, root: Path):
    """Starts JupyterLab from this environment on loopback with a random token, serving ``root``; yields its URL."""
    port, token = _free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", "lab", *(["--allow-root"] if os.geteuid() == 0 else []), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    # A private settings folder: autosave off, so a browser run never writes over the committed notebooks.
    settings = log_path.parent / "lab-settings"
    plugin = settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
    plugin.parent.mkdir(parents=True, exist_ok=True)
    plugin.write_text(json.dumps({"autosave": False}))
    notifications = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notifications.parent.mkdir(parents=True, exist_ok=True)
    notifications.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "JUPYTERLAB_SETTINGS_DIR": str(settings),
                   "JUPYTERLAB_WORKSPACES_DIR": str(log_path.parent / "lab-workspaces")}
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=root)
        try:
            deadline = time.time() + 90
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2):
                        break
                except OSError:
                    if server.poll() is not None or time.time() > deadline:
                        raise RuntimeError(f"JupyterLab did not start: {log_path.read_text()[-2000:]}")
                    time.sleep(0.5)
            yield f"http://127.0.0.1:{port}", token
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def _open(page, base: str, token: str, name: str):
    page.goto(f"{base}/lab/tree/notebooks/{name}?token={token}&reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    # Wait for the kernel to be ready (the notebook's kernelspec must exist in this environment).
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.wait_for_timeout(1500)  # images and widget views settle


def _problems(page) -> list[str]:
    """What a reader would see as broken: error outputs, widgets that did not render, a dead kernel."""
    found = []
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] pre").all_inner_texts()
    found += [f"error output: {text[:300]}" for text in errors if "Traceback" in text or "Error" in text.split("\n")[0]]
    widget_failures = page.locator("text=/Error displaying widget|Failed to load model class|Loading widget/").count()
    if widget_failures:
        found.append(f"{widget_failures} widget(s) did not render (widget manager missing?)")
    status = page.locator(".jp-Notebook-ExecutionIndicator").get_attribute("data-status")
    if status in ("dead", "unknown"):
        found.append(f"kernel status {status}")
    return found


def test_every_notebook_renders_and_the_viewer_works(tmp_path):
    from playwright.sync_api import sync_playwright

    images = paths.resolve(os.environ.get("SCREENSHOT_DIR", "build/screenshots"))
    root = mirror(tmp_path / "repository")
    with jupyterlab(tmp_path / "jupyterlab.log", root) as (base, token), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        report = {}
        for path in NOTEBOOKS:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            _open(page, base, token, path.name)
            cells = page.locator(".jp-NotebookPanel:visible .jp-Cell").count()
            outputs = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output").count()
            assert cells > 5 and outputs > 0, f"{path.name} rendered {cells} cells and {outputs} outputs"
            if path.name == WIDGET_NOTEBOOK:
                page.click("#jp-menu-panel >> text=Run")
                page.click("li[data-command='runmenu:run-all']")
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='busy']", timeout=30_000)
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=600_000)
                viewer = page.locator(".widget-vbox").last
                viewer.scroll_into_view_if_needed()
                picture = viewer.locator("img")
                before = picture.get_attribute("src")
                slider = viewer.locator(".widget-slider .noUi-handle, .widget-slider [role='slider']").first
                slider.focus()
                page.keyboard.press("ArrowRight")
                page.wait_for_timeout(1500)
                assert picture.get_attribute("src") != before, "moving the viewer's slider did not change its picture"
                assert viewer.locator("select, .widget-dropdown").count() >= 2, "the viewer's dropdowns are missing"
                assert (root / "images" / "flow_and_mask.png").is_file(), "the run did not reach the figures"
            else:  # show the first figure: the screenshot should show outputs, not only the title
                figure = page.locator(".jp-NotebookPanel .jp-RenderedImage").first
                if figure.count():
                    figure.scroll_into_view_if_needed()
                    page.wait_for_timeout(500)
            problems = _problems(page)
            assert not problems, f"{path.name}: {problems}"
            target = images / f"browser_{path.stem}.jpg"
            with paths.atomic_target(target) as temporary:
                page.screenshot(path=str(temporary), type="jpeg", quality=70)
            report[path.name] = {"cells": cells, "outputs": outputs}
            page.close()
        browser.close()
    print(json.dumps(report))


def test_the_video_commands_outputs_play_in_chromium(tmp_path):
    """Odd sizes included: the command pads them to 4:2:0, which browsers decode (H.264 High 4:4:4 they refuse)."""
    from playwright.sync_api import sync_playwright

    from utils.media import video_io

    source = tmp_path / "odd.mp4"
    subprocess.run([video_io.ffmpeg_executable(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=12",
                    "-t", "1", "-vf", "scale=97:65", "-c:v", "libx264", "-pix_fmt", "yuv444p", str(source)], check=True)
    outputs = []
    for suffix in (".mp4", ".webm"):
        output = tmp_path / f"out{suffix}"
        subprocess.run([sys.executable, "-m", "utils.video.interpolate", "video", str(source), "-o", str(output),
                        "--method", "dis", "--quiet"], check=True, capture_output=True, cwd=ROOT)
        outputs.append(output)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page()
        (tmp_path / "blank.html").write_text("<body></body>")
        page.goto((tmp_path / "blank.html").as_uri())
        for output in outputs:
            played = page.evaluate("""async (source) => {
                const video = document.createElement("video");
                video.muted = true;
                video.src = source;
                document.body.appendChild(video);
                await new Promise((resolve, reject) => {
                    video.onloadeddata = resolve;
                    video.onerror = () => reject(new Error("cannot play: error code " + video.error.code));
                    setTimeout(() => reject(new Error("no frame after 20 s")), 20000);
                });
                return {width: video.videoWidth, height: video.videoHeight, seconds: video.duration};
            }""", output.as_uri())
            assert (played["width"], played["height"]) == (98, 66), (output.name, played)  # padded by a pixel
            assert abs(played["seconds"] - 1.0) < 0.2, (output.name, played)
        browser.close()
