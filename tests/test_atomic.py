"""Nothing is lost: every file written whole or not at all, whatever goes wrong."""

import errno
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mpl_residual import ResidualStream, load_sample, save_animation
from mpl_residual._atomic import atomic_path

EXE = Path(sys.executable).with_name("mpl-residual")
FORMATS = [".mp4", ".gif", ".html", ".png", ".npz"]


def _leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith(".mr-"))


def _write_limited(folder, name, limit):
    """
    Write *name* in *folder* (the CLI for pictures and animations, the API for .npz)
    in a process whose files may not grow past *limit* bytes: writes past it fail with
    EFBIG (SIGXFSZ ignored), as on a full disk.
    """
    if name.endswith(".npz"):
        code = f"import mpl_residual as mr; mr.load_sample(position=None).save({name!r})"
        command = [sys.executable, "-c", code]
    else:
        command = [str(EXE), "render", "-o", name]

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        command,
        cwd=folder,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        preexec_fn=limited,
        timeout=300,
    )


# -- a full disk, or a file-size limit ------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_file_size_limit_is_an_error_and_keeps_the_old_file(tmp_path, suffix):
    target = tmp_path / f"out{suffix}"
    target.write_bytes(b"precious")
    proc = _write_limited(tmp_path, target.name, 20_000)
    assert proc.returncode == 1 or (suffix == ".npz" and proc.returncode != 0), proc.stderr
    assert target.read_bytes() == b"precious"
    assert _leftovers(tmp_path) == []
    assert "out" + suffix in proc.stderr and ".mr-" not in proc.stderr
    if suffix != ".npz":  # the CLI: one line, no traceback, no warning after it
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("mpl-residual render: error: ")
        reason = "ffmpeg failed" if suffix == ".mp4" else "File too large"
        assert reason in lines[0]


def test_the_same_limit_with_room_to_spare_writes_the_file(tmp_path):
    proc = _write_limited(tmp_path, "ok.mp4", 50_000_000)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ok.mp4").stat().st_size > 1000


def test_an_os_error_names_the_target_not_the_temporary_file(tmp_path):
    target = tmp_path / "kept.bin"
    target.write_bytes(b"old")
    with pytest.raises(OSError) as info, atomic_path(target) as temporary:
        raise OSError(errno.ENOSPC, f"No space left on device: {temporary}", str(temporary))
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(target)
    assert ".mr-" not in str(info.value) and "kept.bin" in str(info.value)
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []


def test_an_encoder_that_produced_nothing_is_not_a_success(tmp_path, monkeypatch):
    from mpl_residual.export import _encoders

    monkeypatch.setattr(_encoders.GifEncoder, "add", lambda self, regions: None)
    target = tmp_path / "a.gif"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="no frames to write"):
        save_animation(np.zeros((3, 2, 2)), target, progress=False)
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []


# -- signals ------------------------------------------------------------------------------------

_SLOW_EXPORT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import mpl_residual as mr
    stream = np.random.default_rng(0).standard_normal((400, 64, 128))
    mr.save_animation(stream, sys.argv[1], progress=False, dpi=60)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_midway_removes_the_temporary_file(tmp_path, signum):
    target = tmp_path / "slow.gif"
    target.write_bytes(b"precious")
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_EXPORT, str(target)],
        env={**os.environ, "MPLBACKEND": "Agg"},
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal leaves it, even when the suite runs under nohup (SIGHUP ignored)
        preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not _leftovers(tmp_path) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert _leftovers(tmp_path), "the export never started"
    time.sleep(0.3)  # well inside the frames
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    # Ended by the signal, as it would have been (Python re-raises an uncaught
    # KeyboardInterrupt as SIGINT), only after cleaning up.
    assert proc.returncode == -signum, err
    assert target.read_bytes() == b"precious"
    assert _leftovers(tmp_path) == []


def test_a_handler_of_the_callers_own_is_left_alone(tmp_path):
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda *args: seen.append(args[0]))
    try:
        with atomic_path(tmp_path / "a.txt") as temporary:
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
            os.kill(os.getpid(), signal.SIGTERM)
            temporary.write_text("still here")
        assert seen == [signal.SIGTERM]
        assert (tmp_path / "a.txt").read_text() == "still here"
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_default_handlers_are_given_back(tmp_path):
    with atomic_path(tmp_path / "a.txt") as temporary:
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        temporary.write_text("x")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "b.txt"):
        raise RuntimeError
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# -- names, modes, links --------------------------------------------------------------------


def test_any_name_the_file_system_allows(tmp_path):
    name = "a" * 246 + ".gif"  # 250 bytes: a temporary name built from it would not be
    path = save_animation(np.zeros((2, 3, 3)), tmp_path / name, progress=False)
    assert path.stat().st_size > 0 and _leftovers(tmp_path) == []
    stream = ResidualStream(np.zeros((2, 3, 3), np.float32))
    assert stream.save(tmp_path / ("b" * 246 + ".npz")).is_file()


def test_overwriting_keeps_the_permission_bits(tmp_path):
    target = tmp_path / "shared.gif"
    target.write_bytes(b"old")
    target.chmod(0o640)
    save_animation(np.zeros((2, 3, 3)), target, progress=False)
    assert target.stat().st_mode & 0o777 == 0o640
    fresh = save_animation(np.zeros((2, 3, 3)), tmp_path / "new.gif", progress=False)
    mask = os.umask(0)
    os.umask(mask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_symlink_is_written_through(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "target.npz").write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(real / "target.npz")
    load_sample().save(link)
    assert link.is_symlink() and os.readlink(link) == str(real / "target.npz")
    assert ResidualStream.load(real / "target.npz").token == "paris"
    assert _leftovers(tmp_path) == [] and _leftovers(real) == []
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(real / "later.npz")
    load_sample().save(dangling)
    assert dangling.is_symlink() and (real / "later.npz").is_file()


def test_a_folder_that_takes_no_new_file_is_named_by_the_target(tmp_path, monkeypatch):
    import tempfile

    def refused(**kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", f"{kwargs['dir']}/.mr-x.tmp")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError, match=r"Permission denied: '.*out\.gif'"):
        save_animation(np.zeros((2, 3, 3)), tmp_path / "out.gif", progress=False)


# -- what is at the path is not a regular file ----------------------------------------------


def _special_files(folder):
    """A FIFO, a socket, a folder and (as root) a character device like /dev/null."""
    import socket
    import stat

    made = {}
    os.mkfifo(folder / "fifo.gif")
    made["a FIFO"] = folder / "fifo.gif"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock.gif"))
    made["a socket"] = folder / "sock.gif"
    (folder / "dir.gif").mkdir()
    made["a folder"] = folder / "dir.gif"
    try:
        os.mknod(folder / "null.gif", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        made["a character device"] = folder / "null.gif"
    except PermissionError:
        pass
    (folder / "link.gif").symlink_to(made.get("a character device", made["a FIFO"]))
    return made, server


def test_a_device_fifo_or_socket_is_never_replaced(tmp_path):
    import stat

    made, server = _special_files(tmp_path)
    try:
        for kind, path in made.items():
            before = path.lstat()
            with pytest.raises(OSError, match=rf"is {kind}, not a regular file"):
                save_animation(np.zeros((2, 3, 3)), path, progress=False)
            with pytest.raises(OSError, match="not a regular file"):
                ResidualStream(np.zeros((2, 3, 3), np.float32)).save(path)
            after = path.lstat()
            assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)
            assert after.st_ino == before.st_ino
        link = tmp_path / "link.gif"
        with pytest.raises(OSError, match="not a regular file"):
            save_animation(np.zeros((2, 3, 3)), link, progress=False)
        assert link.is_symlink() and _leftovers(tmp_path) == []
    finally:
        server.close()


def test_the_command_line_refuses_a_special_file_with_one_line(tmp_path):
    made, server = _special_files(tmp_path)
    try:
        for path in made.values():
            proc = subprocess.run(
                [str(EXE), "render", "-o", path.name],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env={**os.environ, "MPLBACKEND": "Agg"},
                timeout=120,
            )
            assert proc.returncode == 2, proc.stderr
            assert proc.stderr.count("\n") == 1 and "not a regular file" in proc.stderr
    finally:
        server.close()


# -- outside the main thread ------------------------------------------------------------------

_EXPORT_IN_A_THREAD = textwrap.dedent(
    """
    import sys, threading
    import numpy as np
    import mpl_residual as mr
    stream = np.random.default_rng(0).standard_normal((2000, 64, 128)).astype(np.float32)
    worker = threading.Thread(  # the most frames: 20 s or more, even as exports get faster
        target=mr.save_animation, args=(stream, sys.argv[1]),
        kwargs={"progress": False, "dpi": 100},
    )
    worker.start()
    worker.join()
    """
)


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_a_signal_while_a_worker_thread_exports_leaves_nothing(tmp_path, suffix):
    """No signal handler can be installed outside the main thread: the temporary file
    has no name until it is complete, so a signal that ends the process leaves nothing."""
    target = tmp_path / f"slow{suffix}"
    target.write_bytes(b"precious")
    proc = subprocess.Popen(
        [sys.executable, "-c", _EXPORT_IN_A_THREAD, str(target)],
        env={**os.environ, "MPLBACKEND": "Agg"},
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    )
    time.sleep(6)  # well inside the frames (the import and the first draw come first)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM
    assert target.read_bytes() == b"precious"
    assert _leftovers(tmp_path) == []


def test_a_worker_thread_writes_whole_files_with_their_permissions(tmp_path):
    import threading

    target = tmp_path / "t.gif"
    target.write_bytes(b"old")
    target.chmod(0o640)
    errors = []

    def work():
        try:
            save_animation(np.zeros((2, 3, 3)), target, progress=False)
            save_animation(np.zeros((2, 3, 3)), tmp_path / "t.mp4", progress=False)
            load_sample().save(tmp_path / "t.npz")
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert not errors
    assert target.read_bytes()[:6] == b"GIF89a" and target.stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "t.mp4").stat().st_size > 0
    assert ResidualStream.load(tmp_path / "t.npz").token == "paris"
    assert _leftovers(tmp_path) == []
