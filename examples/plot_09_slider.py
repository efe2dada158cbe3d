"""
Scrubbing with a slider
=======================

:func:`mpl_residual.layer_slider` adds a :class:`matplotlib.widgets.Slider` under the
grid; moving it calls ``set_layer`` on the one artist and redraws. It works in every
interactive backend (Qt, Tk, macOS, ``%matplotlib widget`` in notebooks). In a static
page like this one the figure is a still: run the script to scrub.

In a notebook, :func:`mpl_residual.interact` gives the same with ipywidgets, plus a play
button, and works with the default inline backend.
"""

import matplotlib.pyplot as plt

import mpl_residual as mr

stream = mr.load_sample()
fig, ax = plt.subplots(figsize=(6.4, 4.6))
fig.subplots_adjust(bottom=0.2)
slider = mr.layer_slider(stream, ax=ax, title=stream.title, colorbar=True)
slider.set_val(4)  # what dragging it to layer 4 does

plt.show()
