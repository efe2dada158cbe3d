"""
Where the library's figures lay themselves out, beyond what matplotlib's own layout does.

- `engine`: `FittedLayout`, constrained layout that fits the grids' titles between its
  passes (once per layout, never from a draw), and the calls that give a figure it.
- `titles`: `TitleFit`, a title broken and shrunk to the room its panel has.
- `panels`: axes locators for what sits under or beside a grid as drawn (a profile, a
  slider, a colorbar), and the locators that keep a grid and its panels on a figure
  that has no layout engine (matplotlib's default layout moves nothing).
- `figures`: the size of a figure made for a grid, and the most pixels one may have.
"""
