"""Shared by the tests in tests/ and the docstring examples in src/ (--doctest-modules)."""

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_matplotlib():
    """Each test starts from the same rcParams and leaves no figures behind."""
    with matplotlib.rc_context():
        yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _doctests_write_in_a_scratch_folder(request):
    """Docstring examples run in an empty folder, so what they save goes nowhere."""
    if isinstance(request.node, pytest.DoctestItem):
        request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))
