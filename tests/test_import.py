import subprocess
import sys


def test_import_is_light():
    code = (
        "import sys, mpl_residual; "
        "heavy = [m for m in ('torch', 'transformers', 'ipywidgets', 'IPython') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names():
    import mpl_residual

    for name in mpl_residual.__all__:
        obj = getattr(mpl_residual, name)
        if callable(obj):
            assert obj.__doc__ and "Examples" in obj.__doc__, name


def test_hf_without_torch_says_what_to_install():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n"
        "    from mpl_residual import hf\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'mpl-residual[hf]'" in out.stdout
    assert "mpl_residual.hf needs torch and transformers" in out.stdout
