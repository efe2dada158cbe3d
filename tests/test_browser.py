"""A real browser (headless Chromium) opens an exported HTML page from disk."""

import io
import shutil

import numpy as np
import pytest

from mpl_residual import save_animation

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)"
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_exported_page_plays_every_layer_without_errors(page, tmp_path):
    from PIL import Image

    stream = np.random.default_rng(2).standard_normal((7, 16, 24)).cumsum(axis=0)
    path = save_animation(stream, tmp_path / "layers.html", progress=False, dpi=60)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "request",
        lambda r: errors.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    page.goto(path.as_uri())
    assert page.evaluate("window.mplResidualPlayer.length") == 7

    def shot():
        page.wait_for_function(
            "[...document.querySelectorAll('.mr-stage img')].every(i => i.complete)"
        )
        sizes = page.evaluate(
            "[...document.querySelectorAll('.mr-stage img')].map(i => i.naturalWidth)"
        )
        assert len(sizes) >= 2 and all(w > 0 for w in sizes)  # backdrop and regions
        return np.asarray(Image.open(io.BytesIO(page.locator("#mr-stage").screenshot())))

    first = shot()
    seen = [page.get_attribute("#mr-region-0", "src")]
    for k in range(1, 7):
        page.click("#mr-next")  # step with the player's own button
        assert page.evaluate("window.mplResidualPlayer.current") == k
        assert page.text_content("#mr-label") == f"{k + 1} / 7"
        seen.append(page.get_attribute("#mr-region-0", "src"))
        if k == 4:
            assert not np.array_equal(shot(), first)  # frame 4 looks different from 0
    assert len(set(seen)) == 7  # every layer was shown
    page.fill("#mr-slider", "0")
    page.dispatch_event("#mr-slider", "input")
    assert page.evaluate("window.mplResidualPlayer.current") == 0
    page.click("#mr-play")
    page.wait_for_function("window.mplResidualPlayer.current > 0", timeout=5000)
    page.click("#mr-play")
    assert errors == []
