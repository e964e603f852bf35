"""The Live microphone end to end, run by tests/test_e2e_mic.py inside a network namespace of its own.

Starts the dashboard, opens it in Debian's chromium with a fake microphone that plays a WAV file, picks the
models, starts the microphone, watches the cards fill in while the audio is still coming, stops, and waits for
the stored run. Writes what it saw to OUT/seen.json (and a screenshot to artifacts/live-mic.png).

    python -m tests.e2e_mic_driver WAV OUT_DIR MODEL [MODEL ...]
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from dashboard.format import slug
from tests.test_e2e import CHROMIUM, CHROMIUM_ARGS, dashboard, whole_page_shot

# the fake microphone plays the file once; WebRTC between the page and the server stays on loopback (the
# namespace has nothing else), which chromium allows only when asked and names in the clear only when asked
MIC_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns"]
CARD_JS = """(sel) => {
    const c = document.querySelector(sel + ' .live-card');
    if (!c) return null;
    const text = (c.querySelector('.committed').textContent + ' ' + c.querySelector('.partial').textContent).trim();
    return [text, parseFloat(c.querySelector('.live-at').dataset.t)];
}"""


def main(wav: str, out: Path, models: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with dashboard(out) as url:
        seen = drive(url, wav, models)
    (out / "seen.json").write_text(json.dumps(seen, indent=1))


def drive(url: str, wav: str, models: list[str]) -> dict:
    from playwright.sync_api import expect, sync_playwright

    seen: dict = {"first": {}, "final": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=[*CHROMIUM_ARGS, *MIC_ARGS, f"--use-file-for-fake-audio-capture={wav}%noloop"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.goto(url)
            expect(page.get_by_role("heading", name="Compare models")).to_be_visible(timeout=60_000)
            for model in models:
                page.get_by_text(model, exact=True).click()
            page.get_by_text("Live", exact=True).click()
            page.get_by_text("Microphone", exact=True).click()
            mic = page.frame_locator("iframe[title*='webrtc']").first
            mic.get_by_role("button", name="Start microphone").click(timeout=60_000)
            start = time.monotonic()
            first_model = models[0]
            # watch every card until the first model has heard the whole file (or 90 s pass)
            while time.monotonic() - start < 90:
                for model in models:
                    card = page.evaluate(CARD_JS, f".st-key-live-{slug(model)}")
                    if card and card[0] and model not in seen["first"]:
                        seen["first"][model] = {"audio_s": card[1], "wall_s": time.monotonic() - start,
                                                "text": card[0]}
                    if card:
                        seen["final"][model] = {"audio_s": card[1], "text": card[0]}
                last = seen["final"].get(first_model)
                # jfk ends "...what you can do for your country."
                if last and last["audio_s"] > 9 and "country" in re.sub(r"[^\w ]", "", last["text"]).split()[-3:]:
                    break
                page.wait_for_timeout(200)
            seen["heard_s"] = (seen["final"].get(first_model) or {}).get("audio_s")
            mic.get_by_role("button", name="Stop").click()
            stored = page.get_by_text(re.compile(r"^Stored as run \d+"))
            expect(stored).to_be_visible(timeout=180_000)
            seen["run_id"] = int(re.search(r"run (\d+)", stored.inner_text()).group(1))
            seen["cards"] = {m: page.locator(f".st-key-live-{slug(m)}").inner_text() for m in models}
            seen["traceback"] = "Traceback" in page.content()
            whole_page_shot(page, "live-mic.png")
        finally:
            browser.close()
    return seen


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3:])
