"""The player in a real browser: headless Chromium (Debian's) driven by Playwright."""

import io
import shutil

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import player_pages
from mpl_residual import animate, residual_grid, save_animation, to_grid

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
DPI = 80


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A page with every error and every request that is not the page itself recorded."""

    def __init__(self, browser, path, **context):
        self.context = browser.new_context(
            **{"viewport": {"width": 900, "height": 700}, **context}
        )
        self.page = self.context.new_page()
        self.problems = []
        self.page.on("pageerror", lambda e: self.problems.append(f"error: {e}"))
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        self.page.on(
            "request",
            lambda r: (
                None if r.url.startswith(("file:", "data:")) else self.problems.append(r.url)
            ),
        )
        self.page.goto(path.as_uri())
        self.page.wait_for_function(
            "[...document.querySelectorAll('.mr-player')].every(p => p.mrPlayer)"
        )
        self.page.evaluate(
            "Promise.all([...document.querySelectorAll('.mr-player')].map(p => p.mrPlayer.ready))"
        )

    def player(self, index=0):
        return f"document.querySelectorAll('.mr-player')[{index}]"

    def close(self):
        self.context.close()
        assert self.problems == []


def _figure():
    return FigureCanvasAgg(Figure(figsize=(4, 3), dpi=DPI)).figure


def _padded_stream(layers=5):
    # 100 dimensions in 8 rows: 13 columns, 4 padding cells at the end.
    rng = np.random.default_rng(3)
    return to_grid(rng.standard_normal((layers, 100)).cumsum(axis=0) * 10.0**3, 8, pad=True)


@pytest.mark.parametrize("origin", ["upper", "lower"])
def test_hover_readouts_equal_the_data(browser, tmp_path, origin):
    stream = _padded_stream()
    anim = animate(stream, fig=_figure(), origin=origin)
    path = save_animation(anim, tmp_path / "p.html", dpi=DPI, progress=False)
    artist = anim.artist
    rows, cols = stream.shape[1:]
    view = Page(browser, path)
    page = view.page
    page.evaluate(f"{view.player()}.mrPlayer.pause()")
    box = page.locator("canvas.mr-cells").bounding_box()
    rng = np.random.default_rng(0)
    cells = [(0, 0), (rows - 1, cols - 1), (rows - 1, 9), (2, 5)]
    cells += [tuple(rng.integers([0, 0], [rows, cols])) for _ in range(16)]
    seen = set()
    for k in (0, 2, 4):
        page.evaluate(f"{view.player()}.mrPlayer.show({k})")
        for row, col in cells:
            screen_row = row if origin == "upper" else rows - 1 - row
            x = box["x"] + (col + 0.5) / cols * box["width"]
            y = box["y"] + (screen_row + 0.5) / rows * box["height"]
            page.mouse.move(x, y)
            dim = row * cols + col
            want = artist.format_cursor_data(
                (dim if dim < artist.d_model else None, row, col, float(stream[k, row, col]))
            )
            assert page.text_content(".mr-readout") == want
            seen.add(want.split()[0])
    assert seen == {"dim", "padding"}
    page.mouse.move(box["x"] - 30, box["y"] - 30)  # off the grid: nothing
    assert page.text_content(".mr-readout") == ""
    view.close()


def test_hover_readouts_of_odd_values_with_an_inverted_x_axis(browser, tmp_path):
    # Values are stored as their distance from the smallest value of their colour:
    # NaN, infinities, zeros of both signs and float64's ends read as Python writes them.
    stream = np.random.default_rng(4).standard_normal((3, 4, 6))
    odd = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.7976931348623157e308, -5e-324, 9999.5]
    stream[1].flat[: len(odd)] = odd
    stream[2].flat[-len(odd) :] = odd
    fig = _figure()
    anim = animate(stream, fig=fig, vmin=-2, vmax=2)
    anim.artist.axes.invert_xaxis()
    path = save_animation(anim, tmp_path / "p.html", dpi=DPI, progress=False)
    rows, cols = stream.shape[1:]
    view = Page(browser, path)
    page = view.page
    page.evaluate(f"{view.player()}.mrPlayer.pause()")
    box = page.locator("canvas.mr-cells").bounding_box()
    for k in (1, 2):
        page.evaluate(f"{view.player()}.mrPlayer.show({k})")
        for row in range(rows):
            for col in range(cols):
                x = box["x"] + (cols - 1 - col + 0.5) / cols * box["width"]  # x inverted
                y = box["y"] + (row + 0.5) / rows * box["height"]
                page.mouse.move(x, y)
                dim = row * cols + col
                want = anim.artist.format_cursor_data((dim, row, col, float(stream[k, row, col])))
                assert page.text_content(".mr-readout") == want
    view.close()


@pytest.mark.parametrize("sheet_rows", [None, 40], ids=["one sheet", "a sheet a label"])
def test_the_page_shows_what_matplotlib_draws(browser, tmp_path, monkeypatch, sheet_rows):
    if sheet_rows is not None:  # the frame labels on as many sheets as frames
        monkeypatch.setattr("mpl_residual.export._sprites.MAX_ROWS", sheet_rows)
    stream = np.random.default_rng(2).standard_normal((6, 16, 24)).cumsum(axis=0)
    path = save_animation(stream, tmp_path / "s.html", fig=_figure(), dpi=DPI, progress=False)
    sprites = player_pages.payload(path.read_text())["sprites"]
    assert any(s["sheets"] for s in sprites) == (sheet_rows is not None)
    view = Page(browser, path)
    page = view.page
    from PIL import Image

    for k in (0, 4):
        page.evaluate(f"{view.player()}.mrPlayer.pause(); {view.player()}.mrPlayer.show({k})")
        shot = np.asarray(Image.open(io.BytesIO(page.locator(".mr-stage").screenshot())))
        fig = _figure()
        residual_grid(stream, ax=fig.add_subplot(), layer=k, title=f"layer {k}")
        fig.canvas.draw()
        want = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        assert shot.shape[:2] == want.shape[:2]
        diff = np.abs(shot[..., :3].astype(int) - want.astype(int)).max(-1)
        # Equal but where cells meet under the lines between them: Agg blends the two
        # cells' edges there, the player's canvas keeps them crisp (the line covers it).
        assert (diff == 0).mean() > 0.85 and (diff > 60).mean() < 0.002
    view.close()


def test_two_players_on_one_page_are_independent(browser, tmp_path):
    one = animate(_padded_stream(), fig=_figure()).to_html(dpi=DPI)
    two = animate(_padded_stream(7), fig=_figure()).to_html(dpi=DPI, readout=False)
    path = tmp_path / "post.html"
    path.write_text(f"<!DOCTYPE html><html><body><p>Text</p>{one}<p>More</p>{two}</body></html>")
    view = Page(browser, path)
    page = view.page
    a, b = view.player(0), view.player(1)
    assert page.evaluate(f"{a}.id") != page.evaluate(f"{b}.id")
    page.evaluate(f"{a}.mrPlayer.pause(); {b}.mrPlayer.pause(); {b}.mrPlayer.show(0)")
    page.evaluate(f"{a}.mrPlayer.show(3)")
    assert page.evaluate(f"{a}.mrPlayer.current") == 3
    assert page.evaluate(f"{b}.mrPlayer.current") == 0
    assert page.evaluate(f"[{a}.mrPlayer.length, {b}.mrPlayer.length]") == [5, 7]
    # The keyboard drives the player that has focus, and only it.
    page.evaluate(f"{b}.focus()")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate(f"[{a}.mrPlayer.current, {b}.mrPlayer.current]") == [3, 2]
    page.keyboard.press("End")
    assert page.evaluate(f"{b}.mrPlayer.current") == 6
    page.keyboard.press("Home")
    assert page.evaluate(f"{b}.mrPlayer.current") == 0
    page.keyboard.press(" ")
    page.wait_for_function(f"{b}.mrPlayer.current > 0", timeout=5000)
    page.keyboard.press(" ")
    assert page.evaluate(f"{a}.mrPlayer.current") == 3  # untouched all along
    # Its own buttons, slider and label.
    page.locator(".mr-player").nth(0).locator(".mr-next").click()
    assert page.evaluate(f"{a}.mrPlayer.current") == 4
    assert page.locator(".mr-player").nth(0).locator(".mr-frame").text_content() == "layer 4"
    slider = page.locator(".mr-player").nth(1).locator(".mr-slider")
    slider.fill("5")
    assert page.evaluate(f"{b}.mrPlayer.current") == 5
    view.close()


def test_a_phone_width_screen_does_not_scroll_sideways(browser, tmp_path):
    stream = np.random.default_rng(2).standard_normal((4, 16, 48))
    path = save_animation(stream, tmp_path / "wide.html", dpi=100, progress=False)
    view = Page(browser, path, viewport={"width": 360, "height": 640})
    page = view.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    controls = page.locator(".mr-controls").bounding_box()
    assert controls["x"] >= 0 and controls["x"] + controls["width"] <= 360
    view.close()


def test_reduced_motion_means_no_autoplay(browser, tmp_path):
    stream = np.random.default_rng(2).standard_normal((4, 8, 8))
    path = save_animation(stream, tmp_path / "a.html", dpi=DPI, fps=20, progress=False)
    still = Page(browser, path, reduced_motion="reduce")
    still.page.wait_for_timeout(400)
    assert still.page.evaluate(f"{still.player()}.mrPlayer.current") == 0
    assert still.page.get_attribute(".mr-play", "aria-pressed") == "false"
    still.close()
    moving = Page(browser, path)
    moving.page.wait_for_function(f"{moving.player()}.mrPlayer.current > 0", timeout=5000)
    assert moving.page.get_attribute(".mr-play", "aria-label") == "Pause"
    moving.close()


def test_any_matplotlib_animation_plays_as_pictures(browser, tmp_path):
    from matplotlib.animation import FuncAnimation

    fig = _figure()
    ax = fig.add_subplot()
    (line,) = ax.plot([0, 1], [0, 0])
    anim = FuncAnimation(fig, lambda k: line.set_ydata([0, k]), frames=4)
    path = save_animation(anim, tmp_path / "f.html", progress=False)
    view = Page(browser, path)
    page = view.page
    assert page.evaluate(f"{view.player()}.mrPlayer.length") == 4
    page.evaluate(f"{view.player()}.mrPlayer.pause(); {view.player()}.mrPlayer.show(2)")
    assert page.text_content(".mr-frame") == "3 / 4"
    view.close()


def test_on_a_phone_a_tap_shows_the_readout_and_the_text_stays_legible(browser, tmp_path):
    from matplotlib.text import Text

    from mpl_residual import load_sample
    from mpl_residual.export.player import COMPACT_WIDTH, LEGIBLE

    stream = load_sample()
    anim = animate(stream, colorbar=True)
    path = save_animation(anim, tmp_path / "phone.html", dpi=100, progress=False)
    data = player_pages.payload(path.read_text())
    assert data["compact"]["below"] > 360  # the 640 px figure scaled to a phone is too small
    view = Page(
        browser,
        path,
        viewport={"width": 360, "height": 740},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    page = view.page
    player = view.player()
    assert page.evaluate(f"{player}.mrPlayer.compact")
    page.evaluate(f"{player}.mrPlayer.pause(); {player}.mrPlayer.show(6)")
    stage = page.locator(".mr-stage.mr-compact")
    assert page.locator(".mr-stage:not(.mr-compact)").is_hidden()
    box = stage.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    # Its smallest text, at the width it is shown: at least LEGIBLE CSS pixels.
    smallest = min(
        t.get_fontsize()
        for t in anim.figure.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    )
    assert smallest * 100 / 72 * box["width"] / COMPACT_WIDTH >= LEGIBLE
    # A tap on a cell says which dimension it is, as the artist's cursor read-out does.
    rows, cols = stream.shape[1:]
    place = data["compact"]["places"][0]
    x0, y0, x1, y1 = place["mesh"]
    width, height = data["compact"]["size"]
    for row, col in [(9, 15), (0, 0), (rows - 1, cols - 1)]:
        x = box["x"] + (x0 + (col + 0.5) * (x1 - x0) / cols) / width * box["width"]
        y = box["y"] + (y0 + (row + 0.5) * (y1 - y0) / rows) / height * box["height"]
        page.touchscreen.tap(x, y)
        value = float(stream.values[6, row, col])
        want = anim.artist.format_cursor_data((row * cols + col, row, col, value))
        assert page.text_content(".mr-readout") == want
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The same page on a wide screen shows the figure as drawn.
    page.set_viewport_size({"width": 900, "height": 700})
    page.wait_for_function(f"!{player}.mrPlayer.compact")
    assert page.locator(".mr-stage.mr-compact").is_hidden()
    view.close()


def test_the_compact_layout_shows_the_same_cells(tmp_path):

    stream = np.random.default_rng(4).standard_normal((3, 16, 24))
    anim = animate(stream, colorbar=True)
    text = anim.to_html(dpi=100)
    data = player_pages.payload(text)
    assert data["compact"] is not None
    big, small = player_pages.frames(text), player_pages.frames(text, compact=True)
    assert len(big) == len(small) == 3
    assert small[0].shape[1] == 360 and big[0].shape[1] == 640
    assert player_pages.payload(anim.to_html(dpi=100, compact=False))["compact"] is None
    # A figure that reads well at a phone's width needs none.
    narrow = animate(stream, fig=_figure())  # 4 in at 80 dpi: 320 px
    assert player_pages.payload(narrow.to_html(dpi=80))["compact"] is None
