"""sphinx-gallery resets matplotlib before every example; this runs after it."""

import matplotlib


def bundled_ffmpeg(gallery_conf, fname, when):
    """Point matplotlib at the ffmpeg that imageio-ffmpeg ships, for animation thumbnails."""
    try:
        import imageio_ffmpeg

        matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
