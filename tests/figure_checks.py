"""What the figure tests measure: a figure as ``bbox_inches="tight"`` sees it."""


def outside(fig) -> list[str]:
    """What *fig* draws past its edges (``"right by 0.120 in"``, ...); [] when nothing."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    tight = fig.get_tightbbox(renderer)  # inches
    width, height = fig.get_size_inches()
    slack = 0.5 / fig.dpi  # half a pixel
    found = []
    for side, over in (
        ("left", -tight.x0),
        ("bottom", -tight.y0),
        ("right", tight.x1 - width),
        ("top", tight.y1 - height),
    ):
        if over > slack:
            found.append(f"{side} by {over:.3f} in")
    return found
