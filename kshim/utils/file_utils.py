"""`get_file`: fetch a file into kshim's cache (``$KSHIM_HOME/datasets``, default ``~/.keras/datasets``), check its
hash, and optionally extract a zip or tar archive. Also `extract_archive`, `validate_file` and `cache_root`."""

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import warnings
import zipfile


def cache_root():
    """kshim's cache root: ``$KSHIM_HOME``, else ``$KERAS_HOME``, else ``~/.keras`` (Keras's default)."""
    return os.environ.get("KSHIM_HOME") or os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras")


def _hasher(algorithm, file_hash=None):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("auto", "md5"):
        return hashlib.md5()
    raise ValueError(f"get_file: `hash_algorithm` must be 'auto', 'md5' or 'sha256'. Received: "
                     f"hash_algorithm={algorithm!r}")


def hash_file(path, algorithm="sha256", chunk_size=65535):
    """The hex digest of a file ("sha256" or "md5")."""
    hasher = hashlib.sha256() if algorithm in ("sha256", "auto") else _hasher(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(path, file_hash, algorithm="auto", chunk_size=65535):
    """True if the file's md5 or sha256 (by ``algorithm``, or by the hash's length for "auto") is ``file_hash``."""
    hasher = _hasher(algorithm, file_hash)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == str(file_hash)


def _inside(base, name):
    target = os.path.realpath(os.path.join(base, name))
    return os.path.commonpath([os.path.realpath(base), target]) == os.path.realpath(base)


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar (.tar, .tar.gz, .tar.bz2, ...) or zip archive into ``path``; True if one was extracted.
    Members that would land outside ``path`` (absolute paths, ``..``, links out) are skipped with a warning."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for kind in formats:
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                members = []
                for m in archive.getmembers():
                    link = m.issym() or m.islnk()
                    target = os.path.join(os.path.dirname(m.name), m.linkname) if m.issym() else m.linkname
                    if _inside(path, m.name) and (not link or _inside(path, target)):
                        members.append(m)
                    else:
                        warnings.warn(f"extract_archive: skipping {m.name!r}, which points outside the target.",
                                      stacklevel=2)
                _extract(archive, path, members)
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                members = []
                for m in archive.infolist():
                    if _inside(path, m.filename):
                        members.append(m)
                    else:
                        warnings.warn(f"extract_archive: skipping {m.filename!r}, which points outside the "
                                      "target.", stacklevel=2)
                _extract(archive, path, members)
            return True
        if kind not in ("tar", "zip"):
            raise ValueError(f"extract_archive: `archive_format` must be 'auto', 'tar', 'zip' or a list of them. "
                             f"Received: archive_format={archive_format!r}")
    return False


def _extract(archive, path, members):
    try:
        if isinstance(archive, tarfile.TarFile) and hasattr(tarfile, "data_filter"):
            archive.extractall(path, members=members, filter="data")
        else:
            archive.extractall(path, members=members)
    except (tarfile.TarError, zipfile.BadZipFile, RuntimeError, KeyboardInterrupt):
        if os.path.isfile(path):
            os.remove(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)
        raise


def _download(origin, target):
    parsed = urllib.parse.urlsplit(origin)
    if parsed.scheme in ("", "file"):
        source = urllib.request.url2pathname(parsed.path) if parsed.scheme == "file" else origin
        if not os.path.isfile(source):
            raise FileNotFoundError(f"get_file: the origin file {source!r} does not exist.")
        shutil.copyfile(source, target)
        return
    try:
        urllib.request.urlretrieve(origin, target)
    except Exception as e:
        if os.path.exists(target):
            os.remove(target)
        raise RuntimeError(f"get_file: could not download {origin}: {e}") from e


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """The local path of ``origin`` (a URL, a ``file://`` URL or a local path), fetched into
    ``cache_dir/cache_subdir`` unless it is already there (and, with ``file_hash``, unchanged).

    ``fname`` names the cached file (default: the origin's file name). With ``extract`` (or ``untar``) the archive
    is extracted and the extraction directory returned: ``<name>_extracted`` when ``fname`` has an extension,
    else ``<fname>`` (with the archive stored as ``<fname>_archive``), as Keras 3. ``cache_dir`` defaults to
    ``$KSHIM_HOME`` (else ``~/.keras``; ``/tmp/.keras`` when that is not writable).
    """
    if origin is None:
        raise ValueError("get_file: give the `origin` (a URL or a file path) of the file.")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(cache_dir or cache_root())
    if not (os.access(base, os.W_OK) or (not os.path.exists(base) and os.access(os.path.dirname(base) or ".",
                                                                                 os.W_OK))):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    given = fname
    fname = os.fspath(fname) if fname is not None else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"get_file: cannot tell the file name from origin {origin!r}; give `fname`.")
    if os.sep in fname:
        raise ValueError(f"get_file: `fname` must be a file name, not a path; use `cache_dir` for the directory. "
                         f"Received: fname={fname!r}")
    if extract or untar:
        if given and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, fname[:fname.find(".")] + "_extracted")
        else:
            target = os.path.join(datadir, fname + "_archive")
            extraction_dir = os.path.join(datadir, fname)
    else:
        target = os.path.join(datadir, fname)
    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        print(f"A local file was found, but its {hash_algorithm} hash does not match {file_hash}; fetching it "
              "again.")
        download = True
    if download:
        print(f"Fetching data from {origin}")
        _download(origin, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            raise ValueError(f"get_file: the fetched file {target!r} is incomplete or corrupted: its "
                             f"{hash_algorithm} hash does not match {file_hash}.")
    if extract or untar:
        if download or not os.path.exists(extraction_dir):
            if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
                warnings.warn(f"get_file: could not extract {target!r} (not a zip or tar archive).", stacklevel=2)
        return extraction_dir
    return target
