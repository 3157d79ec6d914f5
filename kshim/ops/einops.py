"""``rearrange``: einops' axis notation over reshape and transpose (Keras 3's ``keras.ops.rearrange``).

Supported: named axes, groups in parentheses on either side (``"b (h w) c -> b h w c"``, with ``h=...`` given for
all but one axis of a group) and transpositions. Not supported: ``...``, anonymous axes (``1``, ``()``) and
repeating axes (einops' ``repeat``)."""

import re

from kshim.backends import B
from kshim.ops import symbolic as _symbolic

_TOKEN = re.compile(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*|\S")


def _parse(side, pattern):
    """The groups of one side of ``pattern``: a list of lists of axis names."""
    groups, current = [], None
    for token in _TOKEN.findall(side):
        if token == "(":
            if current is not None:
                raise ValueError(f"rearrange: nested parentheses are not allowed. Received: pattern={pattern!r}")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"rearrange: unbalanced parentheses. Received: pattern={pattern!r}")
            groups.append(current)
            current = None
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
            (groups if current is None else current).append(token if current is not None else [token])
        else:
            raise ValueError(f"rearrange: kshim supports named axes and parentheses only (no `...`, no anonymous "
                             f"axes). Received: {token!r} in pattern={pattern!r}")
    if current is not None:
        raise ValueError(f"rearrange: unbalanced parentheses. Received: pattern={pattern!r}")
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """``tensor`` with its axes regrouped and reordered as ``pattern`` says (einops notation)."""
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: `pattern` must be 'left -> right'. Received: pattern={pattern!r}")
    left_text, right_text = pattern.split("->")
    left, right = _parse(left_text, pattern), _parse(right_text, pattern)
    names_left = [a for g in left for a in g]
    names_right = [a for g in right for a in g]
    if sorted(names_left) != sorted(names_right) or len(set(names_left)) != len(names_left):
        raise ValueError(f"rearrange: both sides must name the same axes, each once. Received: pattern={pattern!r}")
    x = B.convert_to_tensor(tensor)
    shape = tuple(B.shape(x))
    if len(shape) != len(left):
        raise ValueError(f"rearrange: the pattern's left side has {len(left)} axes, the tensor {len(shape)}. "
                         f"Received: pattern={pattern!r}, tensor.shape={shape}")
    sizes = {}
    for group, dim in zip(left, shape):
        unknown = [a for a in group if a not in axes_lengths]
        known = 1
        for a in group:
            if a in axes_lengths:
                sizes[a] = int(axes_lengths[a])
                known *= sizes[a]
        if len(unknown) > 1:
            raise ValueError(f"rearrange: give the lengths of all but one axis of the group {group}. "
                             f"Received: axes_lengths={axes_lengths}")
        if unknown:
            if dim % known:
                raise ValueError(f"rearrange: axis of length {dim} cannot be split as {group} with "
                                 f"axes_lengths={axes_lengths}")
            sizes[unknown[0]] = dim // known
        elif known != dim:
            raise ValueError(f"rearrange: the group {group} has length {known}, the tensor's axis {dim}")
    x = B.reshape(x, tuple(sizes[a] for a in names_left))
    perm = tuple(names_left.index(a) for a in names_right)
    if perm != tuple(range(len(perm))):
        x = B.transpose(x, perm)
    out_shape = []
    for group in right:
        size = 1
        for a in group:
            size *= sizes[a]
        out_shape.append(size)
    return B.reshape(x, tuple(out_shape))


__all__ = ["rearrange"]

_symbolic.install(globals(), __all__, "keras.src.ops.einops")
