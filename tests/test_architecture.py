"""The parts of ../shared/DESIGN.md and the arrows they keep, checked on the imports."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "mpl_residual"

#: Each module's part, lowest first; a module imports its own part or lower ones.  A
#: subpackage (``export``, ``model``, ``cli``) is one entry.
PARTS = {
    "Fold": {"grid", "_arrays", "_text", "errors", "_backend"},
    "Scale": {"scaling"},
    "Data": {
        "labels",
        "stream",
        "stats",
        "_moments",
        "component_stats",
        "decomposition",
        "files",
        "sample",
        "_atomic",
        "_npzfile",
        "_positions",
        "normalize",
        "outliers",
    },
    "Artist": {
        "artist",
        "heatmap",
        "axes",
        "styles",
        "_layout",
        "_colorbar",
        "_colors",
        "_layers",
        "_raster",
    },
    # Pixels into files: it draws what an animation says it animates, and knows
    # nothing of how a stream is drawn, so the views may use it (an animation shows
    # itself as the player) without an arrow coming back.
    "Export": {"export"},
    "Views": {
        "sheet",
        "slider",
        "notebook",
        "animation",
        "save",
        "profile",
        "markers",
        "compare",
        "tokens",
        "contributions",
        "head_grid",
    },
    "Face": {"cli", "__main__", "__init__"},
}
ORDER = list(PARTS)
#: Beside the layers: the model side imports Fold and Data only (and itself).
MODEL = {"model", "hf", "tl"}
#: The largest module: one job each.
MAX_LINES = 600


def _part(top: str) -> str:
    for part, modules in PARTS.items():
        if top in modules:
            return part
    return "Model" if top in MODEL else "?"


def _name(path: Path) -> str:
    """``export.player``, ``model``, ``grid``: the dotted name below mpl_residual."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _package_of(name: str, path: Path) -> list[str]:
    """The package a module's relative imports start from."""
    if name == "__init__":
        return []
    parts = name.split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def _imports(name: str, path: Path) -> set[str]:
    """Every module of ours that *name* imports, at the top, in functions or for typing."""
    package = _package_of(name, path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.ImportFrom) and node.level):
            continue
        base = package[: len(package) - (node.level - 1)]
        target = ".".join([*base, *(node.module.split(".") if node.module else [])])
        for alias in node.names:
            candidate = f"{target}.{alias.name}" if target else alias.name
            found.add(candidate if candidate in MODULES else target or "__init__")
    found.discard(name)
    unknown = found - MODULES.keys()
    assert not unknown, f"{name} imports {unknown}, which are not modules of ours"
    # Importing a submodule from outside its package runs the package first.
    for imported in list(found):
        package_name = imported.rsplit(".", 1)[0]
        if "." in imported and not (name + ".").startswith(package_name + "."):
            found.add(package_name)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_arrow_points_down(name):
    top = name.split(".")[0]
    part = _part(top)
    assert part != "?", f"{name} belongs to no part: add it to PARTS"
    for imported in GRAPH[name]:
        target_top = imported.split(".")[0]
        if target_top == top:
            continue  # within one module or subpackage
        target = _part(target_top)
        assert target != "?", f"{imported} belongs to no part"
        assert target != "Face" or part == "Face", f"{name} imports the command line"
        if part == "Model":
            assert target in ("Fold", "Data", "Model"), f"the model side {name} imports {imported}"
            continue
        if part == "Face":
            continue  # the command line may use anything
        assert target != "Model", f"{name} ({part}) imports the model side ({imported})"
        assert ORDER.index(target) <= ORDER.index(part), (
            f"{name} ({part}) imports {imported} ({target}), a part above it"
        )


def test_no_import_circle():
    """No module reaches itself through its imports, lazy or for typing alike."""
    visiting, done, circles = [], set(), []

    def visit(name):
        if name in done:
            return
        if name in visiting:
            circles.append(visiting[visiting.index(name) :] + [name])
            return
        visiting.append(name)
        for imported in sorted(GRAPH.get(name, ())):
            visit(imported)
        visiting.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_holds_more_than_one_job(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} is {lines} lines; split it by job"


def test_the_model_side_and_the_command_line_are_packages():
    for package in ("model", "cli", "export"):
        assert (PACKAGE / package / "__init__.py").is_file()
    for command in ("render", "capture", "stats", "attribute", "info"):
        assert (PACKAGE / "cli" / f"{command}.py").is_file(), f"cli/{command}.py"
