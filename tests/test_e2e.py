"""The dashboard in a real browser: `streamlit run dashboard/app.py`, Debian's chromium driven by Playwright.

Uploads jfk.flac, runs faster-whisper:tiny.en and pocketsphinx:en-us, waits for both cards and saves
a screenshot to artifacts/compare.png (and, with LAB_UPDATE_DOCS=1, docs/compare.png for the README).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.format import slug
from tests.conftest import JFK_REF

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MODELS = ("faster-whisper:tiny.en", "pocketsphinx:en-us")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not come up in {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def dashboard(root: Path) -> Iterator[str]:
    """`streamlit run dashboard/app.py` on a free loopback port, with its own database and clips under `root`;
    yields its URL and stops it after."""
    port = _free_port()
    env = {**os.environ, "LAB_DB_URL": f"sqlite:///{root / 'lab.sqlite'}", "LAB_CLIPS_DIR": str(root / "clips"),
           "HF_HUB_OFFLINE": "1", "LAB_THREADS": os.environ.get("LAB_THREADS", "2")}
    log = root / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless=true",
             f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
             "--server.fileWatcherType=none", "--global.developmentMode=false",
             "--client.toolbarMode=viewer"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def whole_page_shot(page, name: str) -> Path:  # noqa: ANN001 - playwright's Page
    """A screenshot of the whole page in artifacts/NAME. The main area scrolls inside the page, so the viewport
    grows to the content first."""
    height = page.evaluate("() => Math.max(document.body.scrollHeight, "
                           "...[...document.querySelectorAll('[data-testid=stMain], section')]"
                           ".map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1440, "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(1000)
    shot = REPO / "artifacts" / name
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    return shot


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium: apt-get update && apt-get install -y "
                    "chromium (.ci/run does this)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")
    with dashboard(tmp_path_factory.mktemp("e2e")) as url:
        yield url


def test_compare_two_models_in_the_browser(server: str, jfk: Path) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(server)
            expect(page.get_by_role("heading", name="Compare models")).to_be_visible(timeout=60_000)

            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(jfk))
            # jfk.flac is a copy of a sample-set clip, so its reference fills in
            expect(page.get_by_label("Reference transcript (optional)")).to_have_value(JFK_REF, timeout=30_000)
            for model in MODELS:
                page.get_by_text(model, exact=True).click()
                expect(page.get_by_role("checkbox", name=model)).to_be_checked()
            page.get_by_role("button", name="Run comparison").click()

            # while a model runs, its card's elapsed counter ticks; sample it until both cards are done
            stages = "Starting|Loading|Converting weights|Warming up|Transcribing"
            ticker = page.get_by_text(re.compile(rf"^({stages})… · \d+\.\d s$"))
            done = page.get_by_text("Latency", exact=True)
            seen: set[str] = set()
            start = time.monotonic()
            while done.count() < len(MODELS) and time.monotonic() - start < 180:
                # the card may finish between count() and inner_text()
                with contextlib.suppress(PlaywrightError):
                    if ticker.count():
                        seen.add(ticker.first.inner_text(timeout=500))
                page.wait_for_timeout(300)
            if time.monotonic() - start > 3:
                assert len(seen) >= 2, f"the elapsed counter did not tick: {seen}"
            for model in MODELS:
                card = page.locator(f".st-key-card-{slug(model)}")
                expect(card.get_by_text("Latency", exact=True)).to_be_visible(timeout=60_000)
                expect(card.get_by_text("WER", exact=True)).to_be_visible()
            tiny = page.locator(f".st-key-card-{slug(MODELS[0])}")
            expect(tiny).to_contain_text("ask not what your country can do for you")
            expect(page.get_by_text(re.compile(r"Open run #\d+ in History"))).to_be_visible(timeout=30_000)
            expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=30_000)
            page.wait_for_timeout(1500)  # let the charts finish their transitions
            assert "Traceback" not in page.content()

            shot = whole_page_shot(page, "compare.png")
            if os.environ.get("LAB_UPDATE_DOCS"):  # the README's picture changes only on purpose
                (REPO / "docs").mkdir(exist_ok=True)
                shutil.copyfile(shot, REPO / "docs" / "compare.png")
            assert shot.stat().st_size > 50_000

            # the run links to its History entry
            page.set_viewport_size({"width": 1440, "height": 1000})
            link = page.get_by_text(re.compile(r"Open run #\d+ in History"))
            run_id = re.search(r"#(\d+)", link.inner_text()).group(1)
            link.click()
            expect(page.get_by_role("heading", name=f"Run #{run_id}")).to_be_visible(timeout=30_000)
            expect(page.locator(f".st-key-detail-{slug(MODELS[1])}")).to_contain_text("WER")
        finally:
            browser.close()


def _pick_sample(page, name: str) -> None:  # noqa: ANN001 - playwright's Page
    page.get_by_text("Sample clip", exact=True).click()
    page.locator("[data-testid=stSelectbox]").filter(has_text="Sample clip").locator("input").click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(name)} ")).first.click()


def test_live_mode_shows_text_before_the_audio_ends(server: str) -> None:
    """Live: the card's text appears while the page's audio is still playing (read from the audio element
    and from the card's own readout), and ends as the streamed transcript."""
    from playwright.sync_api import expect, sync_playwright

    model = MODELS[0]
    with sync_playwright() as p:
        # the page starts the audio itself (autoplay), as a user's click would allow
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(server)
            expect(page.get_by_role("heading", name="Compare models")).to_be_visible(timeout=60_000)
            _pick_sample(page, "jfk.flac")
            expect(page.get_by_label("Reference transcript (optional)")).to_have_value(JFK_REF, timeout=30_000)
            page.get_by_text(model, exact=True).click()
            page.get_by_text("Live", exact=True).click()
            page.get_by_role("button", name="Run comparison").click()

            card = page.locator(f".st-key-live-{slug(model)}")
            expect(card).to_be_visible(timeout=240_000)  # after the model has streamed the clip
            first: tuple[float, float] | None = None  # (card readout, audio element time) when text showed
            played = 0.0  # the furthest the page's audio got: it really plays
            while page.get_by_text(re.compile(r"^Stored as run \d+")).count() == 0:
                seen = page.evaluate("""(sel) => {
                    const c = document.querySelector(sel + ' .live-card');
                    const a = document.querySelector('audio');
                    if (!c || !a) return null;
                    const text = (c.querySelector('.committed').textContent + c.querySelector('.partial')
                                  .textContent).trim();
                    return [text, parseFloat(c.querySelector('.live-at').dataset.t), a.currentTime, a.duration];
                }""", f".st-key-live-{slug(model)}")
                if seen and seen[0] and first is None:
                    first = (seen[1], seen[2])
                    duration = seen[3]
                played = max(played, seen[2] if seen else 0.0)
                page.wait_for_timeout(100)
            assert first is not None, "no text appeared in the live card"
            assert played > duration / 2, f"the page's audio did not play (got to {played} s)"
            assert first[1] < duration - 1, f"text first appeared at audio time {first}, clip {duration} s"
            assert first[0] < duration - 1
            expect(card).to_contain_text("ask not what your country can do for you")
            assert "Traceback" not in page.content()
            print(f"live: first text at card readout {first[0]:.2f} s, audio element {first[1]:.2f} s of {duration} s")
            page.set_viewport_size({"width": 1440, "height": 1800})  # the main area scrolls inside the page
            expect(page.locator("[data-testid=stDataFrame]")).to_be_visible(timeout=10_000)  # the metrics
            page.wait_for_timeout(1500)
            shot = REPO / "artifacts" / "live.png"
            shot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
