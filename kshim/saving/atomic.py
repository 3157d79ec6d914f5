"""Atomic file writes and file-format sniffing.

`atomic_write` writes into a temporary file next to the destination and moves it over the destination with
``os.replace`` only once it is complete and flushed to disk. A failure at any point leaves the previous file
exactly as it was, and removes the temporary file.

The temporary file's name is deterministic: ``.<name>.<pid>.kshim-tmp`` beside the target. A save killed with
``kill -9`` cannot remove its own; the next save to the same target removes every such file whose process is no
longer running (and files left by older kshim versions, ``.<name>.<12 hex>.tmp``, older than this process).

A destination that is a symbolic link keeps its link: the link's target is replaced, atomically, in its own
folder, so every path to the file sees the new contents.
"""

import os
import re
import threading
import time

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
TMP_SUFFIX = ".kshim-tmp"
_PROCESS_START = time.time()
_LOCK = threading.Lock()  # two threads of one process saving to one target would share a temporary name


def temporary_path(filepath, pid=None):
    """The temporary file a save to ``filepath`` by process ``pid`` (this one by default) writes first."""
    folder, name = os.path.split(filepath)
    return os.path.join(folder, f".{name}.{os.getpid() if pid is None else pid}{TMP_SUFFIX}")


def _pid_running(pid):
    if pid == os.getpid():
        return False  # this process is not saving to this target now (the lock is held): its file is stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: leave its file alone
    return True


def remove_stale_temporaries(filepath):
    """Remove the temporary files that killed saves to ``filepath`` left behind (see the module doc)."""
    folder, name = os.path.split(filepath)
    ours = re.compile(rf"^\.{re.escape(name)}\.(\d+){re.escape(TMP_SUFFIX)}$")
    older = re.compile(rf"^\.{re.escape(name)}\.[0-9a-f]{{12}}\.tmp$")
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        return
    for entry in entries:
        full = os.path.join(folder, entry)
        match = ours.match(entry)
        try:
            if match:
                stale = not _pid_running(int(match.group(1)))
            else:
                stale = bool(older.match(entry)) and os.lstat(full).st_mtime < _PROCESS_START
            if stale and not os.path.isdir(full):
                os.unlink(full)
        except OSError:
            pass  # removed meanwhile, or not ours to remove


def _destination(filepath):
    """The file to replace: ``filepath`` itself, or the final target when it is a symbolic link."""
    if os.path.islink(filepath):
        return os.path.realpath(filepath)
    return filepath


def atomic_write(filepath, write, overwrite=True):
    """Call ``write(fileobj)`` on a temporary binary file, then move it to ``filepath``."""
    filepath = os.fspath(filepath)
    if not overwrite and os.path.lexists(filepath):
        raise FileExistsError(f"'{filepath}' already exists and overwrite=False.")
    target = _destination(os.path.abspath(filepath))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to '{filepath}': the folder '{folder}' does not exist.")
    with _LOCK:
        remove_stale_temporaries(target)
        tmp = temporary_path(target)
        # O_EXCL: never follow or reuse an existing path; mode 0o666 lets the umask decide, as open() would.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            if os.path.exists(target):
                try:
                    os.chmod(tmp, os.stat(target).st_mode & 0o7777)
                except OSError:
                    pass
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def sniff(filepath):
    """``"zip"``, ``"hdf5"``, or None for anything else (the first bytes decide, not the extension)."""
    with open(filepath, "rb") as f:
        head = f.read(8)
    if head[:4] in _ZIP_MAGIC:
        return "zip"
    if head == _HDF5_MAGIC:
        return "hdf5"
    return None


def check_readable(filepath, what):
    """Raise a clear FileNotFoundError / IsADirectoryError for a path that cannot be read."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"{what}: no file at '{filepath}'.")
    if os.path.isdir(filepath):
        raise IsADirectoryError(f"{what}: '{filepath}' is a folder, not a file. (kshim reads zipped .keras "
                                "files; a folder written with zipped=False is not supported.)")
    return filepath
