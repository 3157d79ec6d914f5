"""Reading a ``.keras`` zip archive defensively, and the ``assets/`` folder inside it.

- Member names must be relative paths inside the archive (no ``..``, no absolute or drive paths, no
  backslashes): an archive naming ``../../x`` is refused as a whole, even though kshim never extracts it freely.
- The members together may declare at most `h5_store.max_load_bytes()` uncompressed (``KSHIM_MAX_LOAD_BYTES``),
  and no member larger than 64 MiB may expand more than 100 times (a zip bomb).
- ``config.json`` may nest at most `MAX_CONFIG_DEPTH` levels, checked without recursion, so a hostile config
  gives a ValueError instead of a RecursionError.
- Assets: Keras 3 gives each saveable object a folder ``assets/<path>/`` (the path of its variables, see
  `object_tree`) and calls its ``save_assets(folder)`` / ``load_assets(folder)``. The lookup layers keep their
  adapted vocabulary there as ``vocabulary.txt``.
"""

import json
import os
import tempfile
import warnings
import zipfile

from kshim.saving import h5_store
from kshim.saving.object_tree import walk

ASSETS_DIRNAME = "assets"
MAX_CONFIG_DEPTH = 200
_BOMB_FLOOR_BYTES = 64 << 20
_BOMB_RATIO = 100


def _unsafe_member_name(name):
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return True
    if len(name) > 1 and name[1] == ":":  # a Windows drive
        return True
    return ".." in name.split("/")


def check_archive(zf, filepath):
    """Refuse unsafe member names, a zip bomb, and members declaring more than the load limit in all."""
    total = 0
    for info in zf.infolist():
        if _unsafe_member_name(info.filename):
            raise ValueError(f"'{filepath}': the archive member name {info.filename!r} points outside the archive "
                             "(an absolute path or '..'); this file is refused.")
        if info.file_size > _BOMB_FLOOR_BYTES and info.file_size > _BOMB_RATIO * max(info.compress_size, 1):
            raise ValueError(f"'{filepath}': the archive member '{info.filename}' declares {info.file_size} bytes "
                             f"but stores {info.compress_size} (a decompression bomb); this file is refused.")
        total += info.file_size
    if total > h5_store.max_load_bytes():
        raise h5_store.too_large(filepath, "the archive", total)


def _depth(value):
    """The nesting depth of parsed JSON, walked with an explicit stack."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def too_deep(source, what):
    return ValueError(f"'{source}': {what} is nested more than {MAX_CONFIG_DEPTH} levels deep; no model config "
                      "is, so this file is refused.")


def parse_config(text, source, what="config.json"):
    """``json.loads`` of a model config, with a ValueError (not a RecursionError) for hostile nesting."""
    try:
        config = json.loads(text)
    except RecursionError:
        raise too_deep(source, what) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"'{source}': {what} is not valid JSON ({e}).") from e
    if _depth(config) > MAX_CONFIG_DEPTH:
        raise too_deep(source, what)
    return config


# -- assets ----------------------------------------------------------------------------------------------------
def _asset_owners(model):
    """``(path, object)`` for every object of ``model`` with Keras 3's asset hooks."""
    return [(e.path, e.obj) for e in walk(model, include_optimizer=False) if e.kind == "layer"
            and callable(getattr(e.obj, "save_assets", None)) and callable(getattr(e.obj, "load_assets", None))]


def collect_assets(model):
    """``{member name: bytes}`` of the ``assets/`` folder for ``model`` (empty when nothing has assets)."""
    members = {}
    owners = _asset_owners(model)
    if not owners:
        return members
    with tempfile.TemporaryDirectory(prefix="kshim-assets-") as root:
        for path, obj in owners:
            folder = os.path.join(root, *path.split("/")) if path else root
            os.makedirs(folder, exist_ok=True)
            obj.save_assets(folder)
        for folder, _, files in os.walk(root):
            for name in sorted(files):
                full = os.path.join(folder, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                with open(full, "rb") as f:
                    members[f"{ASSETS_DIRNAME}/{rel}"] = f.read()
    return members


def load_assets(model, zf, filepath):
    """Give every object with asset hooks its folder from the archive (only the files under its own path)."""
    owners = _asset_owners(model)
    if not owners:
        return
    names = [n for n in zf.namelist() if n.startswith(f"{ASSETS_DIRNAME}/") and not n.endswith("/")]
    with tempfile.TemporaryDirectory(prefix="kshim-assets-") as root:
        for path, obj in owners:
            prefix = f"{ASSETS_DIRNAME}/{path}/" if path else f"{ASSETS_DIRNAME}/"
            own = [n for n in names if n.startswith(prefix) and "/" not in n[len(prefix):]]
            if not own:
                if hasattr(obj, "get_vocabulary") and not obj.get_vocabulary(include_special_tokens=False):
                    warnings.warn(f"'{filepath}': layer '{obj.name}' has no saved vocabulary in the file (no "
                                  f"'{prefix}vocabulary.txt'); it keeps an empty vocabulary and maps every token "
                                  "to the OOV index. (Older kshim versions did not save adapted vocabularies: adapt "
                                  "the layer again and re-save.)", stacklevel=3)
                continue
            folder = os.path.join(root, *path.split("/")) if path else os.path.join(root, "_root")
            os.makedirs(folder, exist_ok=True)
            for name in own:  # names were checked by `check_archive`; each is a plain file in `folder`
                with open(os.path.join(folder, name[len(prefix):]), "wb") as f:
                    f.write(zf.read(name))
            try:
                obj.load_assets(folder)
            except (OSError, ValueError, UnicodeDecodeError) as e:
                raise ValueError(f"'{filepath}': the assets of layer '{obj.name}' ('{prefix}') cannot be loaded "
                                 f"({type(e).__name__}: {e}).") from e
