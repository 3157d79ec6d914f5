"""Fetching a dataset file: Keras's cache names and layout (``$KERAS_HOME/datasets/...``), downloads through
`kshim.utils.get_file` with Keras's checksums, and a fast, clear error when the file is neither cached nor
downloadable. Also the safe readers the loaders share: an unpickler that only rebuilds numpy arrays, and an
``.npz`` reader built on it."""

import contextlib
import io
import os
import pickle
import socket
import urllib.parse
import zipfile

import numpy as np

from kshim.utils import file_utils

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CONNECT_TIMEOUT = 3.0
DOWNLOAD_TIMEOUT = 60.0


def _cache_dir():
    return os.path.join(os.path.expanduser(file_utils.cache_root()), "datasets")


def cached_location(fname, cache_subdir="datasets", extract=False):
    """Where `get_file` keeps ``fname``: (the file, or the archive and its extraction folder when ``extract``)."""
    datadir = os.path.join(os.path.expanduser(file_utils.cache_root()), cache_subdir)
    if not extract:
        return os.path.join(datadir, fname), None
    if "." in fname:
        return os.path.join(datadir, fname), os.path.join(datadir, fname[:fname.find(".")] + "_extracted")
    return os.path.join(datadir, fname + "_archive"), os.path.join(datadir, fname)


def _reachable(origin):
    parts = urllib.parse.urlsplit(origin)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT):
            return None
    except OSError as e:
        return e


@contextlib.contextmanager
def _socket_timeout(seconds):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def fetch(dataset, fname, origin, file_hash=None, cache_subdir="datasets", extract=False):
    """The local path of a dataset file (or its extraction folder with ``extract``), downloading it when it is not
    cached. Offline with nothing cached, raises `FileNotFoundError` at once, naming the file and where to put it."""
    target, folder = cached_location(fname, cache_subdir, extract)
    have = os.path.exists(folder) if extract else os.path.exists(target)
    if not have and not (extract and os.path.exists(target)):
        error = _reachable(origin)
        if error is not None:
            where = (f"put the downloaded archive at {target!r} (or its extracted contents in {folder!r})"
                     if extract else f"put it at {target!r}")
            raise FileNotFoundError(
                f"kshim.datasets.{dataset}: {os.path.basename(target)!r} is not in the cache and cannot be "
                f"downloaded from {origin} ({error}). Download {origin} on a machine with network access and "
                f"{where}; set KERAS_HOME to use another cache folder.")
    with _socket_timeout(DOWNLOAD_TIMEOUT):
        return file_utils.get_file(fname=fname, origin=origin, file_hash=file_hash, cache_subdir=cache_subdir,
                                   extract=extract)


_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain Python containers and numpy arrays only; any other class or function is refused, so a
    dataset file can never run code."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"kshim.datasets: refusing to load `{module}.{name}` from a dataset file; "
                                     "only numpy arrays and plain Python values are allowed.")


def _read_npy(buffer):
    try:
        return np.lib.format.read_array(buffer, allow_pickle=False)
    except ValueError:  # an object array: its payload is a pickle
        buffer.seek(0)
        major, _ = np.lib.format.read_magic(buffer)
        if major == 1:
            np.lib.format.read_array_header_1_0(buffer)
        elif major in (2, 3):
            np.lib.format.read_array_header_2_0(buffer)
        else:
            raise ValueError(f"kshim.datasets: unsupported .npy format version {major}.")
        return RestrictedUnpickler(buffer).load()


def load_npz(path):
    """The arrays of an ``.npz`` file as a dict; object arrays (lists of sequences) go through the restricted
    unpickler."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                with archive.open(member) as raw:
                    arrays[member[:-4]] = _read_npy(io.BytesIO(raw.read()))
    return arrays


def split(x, y, test_split, seed):
    """Shuffle with ``np.random.RandomState(seed)`` and split off the last ``test_split`` fraction, as Keras's
    regression datasets do."""
    if not 0 <= test_split < 1:
        raise ValueError(f"kshim.datasets: `test_split` must be in [0, 1). Received: test_split={test_split!r}")
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
