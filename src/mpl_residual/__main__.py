"""``python -m mpl_residual``: the same as the ``mpl-residual`` command."""

from .cli import main

raise SystemExit(main())
