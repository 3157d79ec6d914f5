"""Atomic file writes and file-format sniffing.

`atomic_write` writes into a new temporary file in the destination's folder and moves it over the destination
with ``os.replace`` only once it is complete and flushed to disk. A failure at any point leaves the previous file
exactly as it was, and removes the temporary file.
"""

import os
import uuid

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def atomic_write(filepath, write, overwrite=True):
    """Call ``write(fileobj)`` on a temporary binary file, then move it to ``filepath``."""
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to '{filepath}': the folder '{folder}' does not exist.")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"'{filepath}' already exists and overwrite=False.")
    tmp = os.path.join(folder, f".{os.path.basename(filepath)}.{uuid.uuid4().hex[:12]}.tmp")
    # O_EXCL: never follow or reuse an existing path; mode 0o666 lets the umask decide, as open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(filepath):
            try:
                os.chmod(tmp, os.stat(filepath).st_mode & 0o7777)
            except OSError:
                pass
        os.replace(tmp, filepath)
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
