"""Writing a file so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from ._text import printable
from .errors import NotRegularFile

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
        raise FileNotFoundError(
            f"the folder {printable(repr(str(folder)))} of {printable(repr(str(path)))} "
            "does not exist"
        )


def _write_target(path: Path) -> Path:
    """The file that writing *path* replaces: a symlink's target, so the link stays one."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def check_output(path: Path) -> None:
    """
    Raise, naming *path*, unless it can be written whole: its folder must exist
    (FileNotFoundError), and what is there now, if anything, must be a regular file
    (`NotRegularFile`): a device, a FIFO, a socket or a folder is never replaced.  A
    symlink is judged by what it points to.
    """
    path = Path(path)
    check_folder(path)
    try:
        mode = os.stat(_write_target(path)).st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:  # a link to itself, or a circle of links
            raise NotRegularFile(
                f"{printable(repr(str(path)))} is a symlink that loops, not a regular "
                "file: refusing to replace it; write to a file"
            ) from None
        return  # nothing there yet (or a dangling link): a new file
    for test, kind in _KINDS:
        if test(mode):
            raise NotRegularFile(
                f"{printable(repr(str(path)))} is {kind}, not a regular file: refusing to "
                "replace it; write to a file"
            )


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


def _unnamed(folder: Path) -> int | None:
    """
    A file in *folder* that has no name (Linux's ``O_TMPFILE``), as a descriptor, or
    None where the system or the file system has no such files.  Nothing of it outlives
    the process, whatever ends it; it is written through ``/proc/self/fd/N``.
    """
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR, 0o600)
    except OSError:
        return None


def _linked(descriptor: int, folder: Path) -> Path:
    """A name in *folder* for the unnamed file *descriptor*."""
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while True:
            name = f".mr-{secrets.token_hex(4)}.tmp"
            try:  # linkat(..., AT_SYMLINK_FOLLOW): a directory descriptor makes os.link use it
                os.link(
                    f"/proc/self/fd/{descriptor}", name, dst_dir_fd=directory, follow_symlinks=True
                )
                return folder / name
            except FileExistsError:
                continue
    finally:
        os.close(directory)


@contextlib.contextmanager
def _from_a_worker_thread(path: Path, target: Path) -> Iterator[Path]:
    """
    `atomic_path` outside the main thread, where no signal handler can be installed: the
    temporary file has no name until it is complete, so that a signal that ends the
    process leaves nothing behind.  It is named (and renamed into place) only at the end.
    """
    descriptor = _unnamed(target.parent)
    if descriptor is None:  # no unnamed files here: a named one, as in the main thread
        with _named(path, target, signals=False) as temporary:
            yield temporary
        return
    temporary = Path(f"/proc/self/fd/{descriptor}")
    try:
        yield temporary
        os.fchmod(descriptor, _mode(target))
        os.fsync(descriptor)
        named = _linked(descriptor, target.parent)
        try:
            os.replace(named, target)
        except BaseException:
            named.unlink(missing_ok=True)
            raise
    except OSError as err:
        raise _naming(err, path, temporary) from None
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _named(path: Path, target: Path, *, signals: bool = True) -> Iterator[Path]:
    """`atomic_path` with a named temporary file, removed on failure and on SIGTERM/SIGHUP
    (with *signals*, in the main thread)."""
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=".mr-", suffix=".tmp")
    except OSError as err:  # a read-only or full folder: say which file could not be written
        raise type(err)(err.errno, err.strerror, str(path)) from None
    os.close(handle)
    temporary = Path(name)
    guard = _removed_on_termination(temporary) if signals else contextlib.nullcontext()
    with guard:
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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, checked: bool = False) -> Iterator[Path]:
    """
    Yield a temporary path beside *path*; when the block ends normally it replaces *path*.

    If the block raises, or the process is interrupted (Ctrl-C, SIGTERM, SIGHUP), the
    temporary file is removed and *path*, if it exists, is left untouched.  The
    temporary file's name is short and of fixed length (``.mr-XXXXXXXX.tmp``), so any
    name the file system allows for *path* works; writers must therefore be told the
    format rather than guess it from the suffix.  Outside the main thread, where no
    signal handler can be installed, the temporary file has no name at all until it is
    complete (Linux's ``O_TMPFILE``; a path under ``/proc/self/fd``), so a signal that
    ends the process leaves nothing either.  An `OSError` from the block names *path*,
    never the temporary file.  The new file keeps the permission bits of the file it
    replaces (new files get ``0o666`` less the umask); a symlink at *path* is written
    through, so it stays a link.  Something that is not a regular file (a device, a
    FIFO) is never replaced: `NotRegularFile`.  The data is flushed to disk before the
    rename.
    """
    path = Path(path)
    if not checked:  # a caller that checked it already (`check_request`) says so
        check_output(path)
    target = _write_target(path)
    in_main = threading.current_thread() is threading.main_thread()
    with (_named(path, target) if in_main else _from_a_worker_thread(path, target)) as temporary:
        yield temporary
