"""Writing a file so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

__all__: list[str] = []

#: Signals that, left to their default action, would end the process without running
#: any ``finally``; while a file is being written they first remove the temporary file.
_TERMINATING = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _Terminated(BaseException):
    """Raised by the signal handler of `atomic_path`; ends the process once cleaned up."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def _umask() -> int:
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0)  # elsewhere: read it the only portable way
    os.umask(mask)
    return mask


def check_folder(path: Path) -> None:
    """Raise FileNotFoundError, naming it, if the folder of *path* does not exist."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"the folder {str(folder)!r} of {str(path)!r} does not exist")


def _write_target(path: Path) -> Path:
    """The file that writing *path* replaces: a symlink's target, so the link stays one."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def _mode(target: Path) -> int:
    """Permission bits for the new file: the old file's, or ``0o666`` less the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _naming(err: OSError, path: Path, temporary: Path) -> OSError:
    """*err* with *path* in place of the temporary file it may name."""
    reason = (err.strerror or str(err) or type(err).__name__).replace(str(temporary), str(path))
    if err.errno is not None:  # "[Errno 28] No space left on device: 'out.mp4'"
        return type(err)(err.errno, reason, str(path))
    return type(err)(f"could not write {str(path)!r}: {reason}")


@contextlib.contextmanager
def _removed_on_termination(temporary: Path) -> Iterator[None]:
    """
    While the block runs, SIGTERM and SIGHUP (when their default action is in force)
    raise `_Terminated` instead of killing the process at once; once the stack has
    unwound (the temporary file removed on the way), the signal is delivered again
    with its default action, so the process ends as it would have.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Terminated(signum)

    installed = []
    for signum in _TERMINATING:
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, handler)
            installed.append(signum)
    try:
        yield
    except _Terminated as err:
        temporary.unlink(missing_ok=True)
        for signum in installed:
            signal.signal(signum, signal.SIG_DFL)
        installed.clear()
        os.kill(os.getpid(), err.signum)
        raise  # only reached if the signal is blocked
    finally:
        for signum in installed:
            signal.signal(signum, signal.SIG_DFL)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """
    Yield a temporary path beside *path*; when the block ends normally it replaces *path*.

    If the block raises, or the process is interrupted (Ctrl-C, SIGTERM, SIGHUP), the
    temporary file is removed and *path*, if it exists, is left untouched.  The
    temporary file's name is short and of fixed length (``.mr-XXXXXXXX.tmp``), so any
    name the file system allows for *path* works; writers must therefore be told the
    format rather than guess it from the suffix.  An `OSError` from the block names
    *path*, never the temporary file.  The new file keeps the permission bits of the
    file it replaces (new files get ``0o666`` less the umask); a symlink at *path* is
    written through, so it stays a link.  The data is flushed to disk before the
    rename.
    """
    path = Path(path)
    check_folder(path)
    target = _write_target(path)
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=".mr-", suffix=".tmp")
    except OSError as err:  # a read-only or full folder: say which file could not be written
        raise type(err)(err.errno, err.strerror, str(path)) from None
    os.close(handle)
    temporary = Path(name)
    with _removed_on_termination(temporary):
        try:
            yield temporary
            os.chmod(temporary, _mode(target))
            with open(temporary, "rb+") as written:
                os.fsync(written.fileno())
            os.replace(temporary, target)
        except OSError as err:
            temporary.unlink(missing_ok=True)
            raise _naming(err, path, temporary) from None
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
