"""
Matplotlib imported whatever ``MPLBACKEND`` says: a backend that matplotlib does not
know makes ``import matplotlib`` itself raise, so every use of this package, the
command line's ``--version`` included, would end in a traceback.  Such a value is set
aside (matplotlib then picks its default) and said once: by a warning, or on the
command line by one note.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["IGNORED_BACKEND"]

#: The ``MPLBACKEND`` set aside, or None.
IGNORED_BACKEND: str | None = None

try:
    import matplotlib  # noqa: F401
except ValueError:
    IGNORED_BACKEND = os.environ.pop("MPLBACKEND", None)
    if IGNORED_BACKEND is None:
        raise
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        del sys.modules[name]  # what the failed import left half made
    import matplotlib  # noqa: F401

    command_line = os.path.basename(sys.argv[0]) in ("mpl-residual", "-m", "__main__.py")
    if not command_line:  # the command line says it in one note of its own
        warnings.warn(
            f"MPLBACKEND={IGNORED_BACKEND!r} is not a backend matplotlib knows; it was "
            "ignored, and matplotlib chose its default",
            stacklevel=2,
        )
