"""Cases for kshim.ops, part 2: reductions, sorting, shapes and indexing, linear algebra and the composites.

Forward values against numpy (float64), gradients of ``sum(op(x) * w)`` across backends and against central
differences. Inputs with ties are used only where the tie rule is the point (argmax, argsort, top_k).
"""

import numpy as np

from conformance.case import case, op_case, ops, rng


def f32(seed, shape, lo=-2.0, hi=2.0):
    return rng(seed).uniform(lo, hi, size=shape).astype(np.float32)


X3 = f32(101, (3, 4, 5))
X = f32(102, (3, 4))
POS3 = f32(103, (2, 3, 4), 0.5, 1.5) * np.where(rng(104).uniform(size=(2, 3, 4)) > 0.3, 1, -1).astype(np.float32)
TIES = np.array([[1.0, 3.0, 3.0, 0.5], [2.0, 2.0, -1.0, 2.0], [-4.0, -4.0, -4.0, -4.0]], np.float32)
RED = dict(rtol=1e-5, atol=2e-6, ref_rtol=5e-5, ref_atol=5e-6)


def _reduction(name, np_fn, x, variants, grad=True, **kw):
    op = name.split(".")[0]
    for suffix, kwargs in variants:
        op_case(f"ops.{name}{suffix}", (lambda k: lambda t: getattr(ops, op)(t, **k))(kwargs),
                (lambda k: lambda a: np_fn(a, **k))(kwargs), [x], grad=grad, **{**RED, **kw})


AXES = [("", {}), (".axis1", {"axis": 1}), (".axis_tuple", {"axis": (0, 2)}), (".axis_neg_keepdims",
                                                                            {"axis": -1, "keepdims": True})]
_reduction("sum", np.sum, X3, AXES)
_reduction("mean", np.mean, X3, AXES)
_reduction("var", np.var, X3, AXES)
_reduction("std", np.std, X3, AXES)
_reduction("max", np.max, X3, AXES)
_reduction("min", np.min, X3, AXES)
_reduction("amax", np.max, X3, [("", {"axis": 1})])
_reduction("amin", np.min, X3, [("", {"axis": 1})])
_reduction("prod", np.prod, POS3, [("", {}), (".axis1", {"axis": 1}), (".keepdims", {"axis": 2, "keepdims": True})])
_reduction("logsumexp", lambda a, axis=None, keepdims=False: _np_logsumexp(a, axis, keepdims), X3,
           AXES[:3])
_reduction("logsumexp.large", lambda a, axis=None, keepdims=False: _np_logsumexp(a, axis, keepdims),
           np.array([[1000.0, 1000.5, 999.0], [-1000.0, -999.0, -1001.0]], np.float32), [("", {"axis": 1})],
           rtol=5e-5, ref_rtol=5e-5)  # float32 spacing at 1000 is 6e-5
_reduction("mean.int32", np.mean, np.array([[1, 2, 4], [3, 5, 8]], np.int32), [("", {"axis": 1})], grad=False)
_reduction("sum.int32", np.sum, np.array([[1, 2, 4], [3, 5, 8]], np.int32), [("", {"axis": 0})], grad=False)


def _np_logsumexp(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


BOOLS = rng(105).uniform(size=(3, 4)) > 0.4
for _op, _np_fn in [("any", np.any), ("all", np.all)]:
    _reduction(_op, _np_fn, BOOLS, [("", {}), (".axis1", {"axis": 1}), (".keepdims", {"axis": 0, "keepdims": True})],
               grad=False)
for _op, _np_fn in [("argmax", np.argmax), ("argmin", np.argmin)]:
    _reduction(_op, _np_fn, TIES, [(".ties", {}), (".ties_axis1", {"axis": 1}), (".ties_axis0", {"axis": 0}),
                                   (".keepdims", {"axis": 1, "keepdims": True})], grad=False)
for _op, _np_fn in [("cumsum", np.cumsum), ("cumprod", np.cumprod)]:
    _reduction(_op, _np_fn, POS3, [("", {}), (".axis0", {"axis": 0}), (".axis2", {"axis": 2})])

# Sorting
_reduction("sort", np.sort, X3, [("", {}), (".axis0", {"axis": 0})])
_reduction("argsort.stable_ties", lambda a, axis=-1: np.argsort(a, axis=axis, kind="stable"), TIES,
           [("", {}), (".axis0", {"axis": 0})], grad=False)


def _np_top_k(a, k):
    idx = np.argsort(-a, axis=-1, kind="stable")[..., :k]
    return [np.take_along_axis(a, idx, axis=-1), idx]


op_case("ops.top_k", lambda t: ops.top_k(t, 3), lambda a: _np_top_k(a, 3), [X3], grad=True, **RED)
op_case("ops.top_k.ties", lambda t: ops.top_k(t, 2), lambda a: _np_top_k(a, 2), [TIES])

# ----------------------------------------------------------------------------------------------------------------
# Shapes and indexing


def _shape_op(name, fn, np_fn, inputs, grad=True, **kw):
    op_case(f"ops.{name}", fn, np_fn, inputs, grad=grad, **kw)


_shape_op("reshape", lambda t: ops.reshape(t, (2, 6)), lambda a: a.reshape(2, 6), [X])
_shape_op("reshape.minus_one", lambda t: ops.reshape(t, (-1, 5)), lambda a: a.reshape(-1, 5), [X3])
_shape_op("transpose", lambda t: ops.transpose(t), np.transpose, [X3])
_shape_op("transpose.axes", lambda t: ops.transpose(t, (1, 0, 2)), lambda a: np.transpose(a, (1, 0, 2)), [X3])
_shape_op("expand_dims", lambda t: ops.expand_dims(t, 0), lambda a: np.expand_dims(a, 0), [X])
_shape_op("expand_dims.neg", lambda t: ops.expand_dims(t, -1), lambda a: np.expand_dims(a, -1), [X])
_shape_op("expand_dims.tuple", lambda t: ops.expand_dims(t, (0, 2)), lambda a: np.expand_dims(a, (0, 2)), [X])
X1 = f32(106, (3, 1, 4, 1))
_shape_op("squeeze", lambda t: ops.squeeze(t), np.squeeze, [X1])
_shape_op("squeeze.axis", lambda t: ops.squeeze(t, axis=1), lambda a: np.squeeze(a, axis=1), [X1])
_shape_op("concatenate", lambda a, b: ops.concatenate([a, b], axis=0), lambda a, b: np.concatenate([a, b], 0),
          [X, f32(107, (2, 4))])
_shape_op("concatenate.axis1", lambda a, b: ops.concatenate([a, b], axis=-1), lambda a, b: np.concatenate([a, b], -1),
          [X, f32(108, (3, 2))])
_shape_op("stack", lambda a, b: ops.stack([a, b]), lambda a, b: np.stack([a, b]), [X, f32(109, (3, 4))])
_shape_op("stack.axis1", lambda a, b: ops.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1),
          [X, f32(110, (3, 4))])
_shape_op("split", lambda t: ops.split(t, 2, axis=1), lambda a: np.split(a, 2, axis=1), [X])
_shape_op("split.indices", lambda t: ops.split(t, [1, 3], axis=1), lambda a: np.split(a, [1, 3], axis=1), [X3])
_shape_op("tile", lambda t: ops.tile(t, (2, 1)), lambda a: np.tile(a, (2, 1)), [X])
_shape_op("tile.more_reps", lambda t: ops.tile(t, (2, 1, 3)), lambda a: np.tile(a, (2, 1, 3)), [X])
_shape_op("repeat", lambda t: ops.repeat(t, 2), lambda a: np.repeat(a, 2), [X])
_shape_op("repeat.axis", lambda t: ops.repeat(t, 3, axis=1), lambda a: np.repeat(a, 3, axis=1), [X])
_shape_op("repeat.list", lambda t: ops.repeat(t, [1, 0, 2], axis=0), lambda a: np.repeat(a, [1, 0, 2], axis=0), [X])
_shape_op("broadcast_to", lambda t: ops.broadcast_to(t, (2, 3, 4)), lambda a: np.broadcast_to(a, (2, 3, 4)),
          [f32(111, (3, 1))])
_shape_op("flip", lambda t: ops.flip(t), np.flip, [X3])
_shape_op("flip.axis", lambda t: ops.flip(t, axis=1), lambda a: np.flip(a, 1), [X3])
_shape_op("flip.axes", lambda t: ops.flip(t, axis=(0, 2)), lambda a: np.flip(a, (0, 2)), [X3])
_shape_op("ravel", lambda t: ops.ravel(t), np.ravel, [X3])
_shape_op("swapaxes", lambda t: ops.swapaxes(t, 0, -1), lambda a: np.swapaxes(a, 0, -1), [X3])

IDX = np.array([2, 0, 2, 1], np.int32)
_shape_op("take", lambda t, i: ops.take(t, i, axis=0), lambda a, i: np.take(a, i, axis=0), [X, IDX])
_shape_op("take.axis1", lambda t, i: ops.take(t, i, axis=1), lambda a, i: np.take(a, i, axis=1), [X3, IDX])
_shape_op("take.flat", lambda t, i: ops.take(t, i), lambda a, i: np.take(a, i), [X, np.array([[0, 11], [5, 5]])])
_shape_op("take.negative_indices", lambda t, i: ops.take(t, i, axis=1), lambda a, i: np.take(a, i, axis=1),
          [X, np.array([-1, 0, -4], np.int32)])
ALONG = np.argsort(X3, axis=1)[:, :2, :].astype(np.int32)
_shape_op("take_along_axis", lambda t, i: ops.take_along_axis(t, i, axis=1),
          lambda a, i: np.take_along_axis(a, i, axis=1), [X3, ALONG])


def _np_one_hot(x, n, axis=-1):
    x = np.asarray(x)
    out = (x[..., None] == np.arange(n)).astype(np.float32)
    return np.moveaxis(out, -1, axis) if axis != -1 else out


HOT = np.array([[0, 2, 1], [-1, 3, 2]], np.int32)  # -1 and 3 are out of range for 3 classes
_shape_op("one_hot", lambda i: ops.one_hot(i, 3), lambda i: _np_one_hot(i, 3), [HOT], grad=False)
_shape_op("one_hot.axis0", lambda i: ops.one_hot(i, 3, axis=0), lambda i: _np_one_hot(i, 3, axis=0), [HOT],
          grad=False)
_shape_op("one_hot.dtype", lambda i: ops.one_hot(i, 4, dtype="int32"), lambda i: _np_one_hot(i, 4).astype(np.int32),
          [HOT], grad=False)

PADW = ((1, 2), (2, 1))
_shape_op("pad", lambda t: ops.pad(t, PADW), lambda a: np.pad(a, PADW), [X])
_shape_op("pad.constant_value", lambda t: ops.pad(t, PADW, constant_values=1.5),
          lambda a: np.pad(a, PADW, constant_values=1.5), [X])
for _mode in ("reflect", "symmetric", "edge"):
    _shape_op(f"pad.{_mode}", (lambda m: lambda t: ops.pad(t, PADW, mode=m))(_mode),
              (lambda m: lambda a: np.pad(a, PADW, mode=m))(_mode), [X])
_shape_op("pad.3d", lambda t: ops.pad(t, ((0, 0), (1, 1), (0, 2))), lambda a: np.pad(a, ((0, 0), (1, 1), (0, 2))),
          [X3])

SQ = f32(112, (2, 4, 4))
for _op in ("tril", "triu"):
    for _k in (0, -1, 1):
        _shape_op(f"{_op}.k{_k}".replace("-", "m"), (lambda o, k: lambda t: getattr(ops, o)(t, k=k))(_op, _k),
                  (lambda o, k: lambda a: getattr(np, o)(a, k=k))(_op, _k), [SQ])
_shape_op("diag.vector", lambda t: ops.diag(t), np.diag, [f32(113, (4,))])
_shape_op("diag.vector_k1", lambda t: ops.diag(t, k=1), lambda a: np.diag(a, k=1), [f32(114, (3,))])
_shape_op("diag.matrix", lambda t: ops.diag(t), np.diag, [X])
_shape_op("diag.matrix_km1", lambda t: ops.diag(t, k=-1), lambda a: np.diag(a, k=-1), [X])
_shape_op("slice_along_axis", lambda t: ops.slice_along_axis(t, 1, 3, axis=1), lambda a: a[:, 1:3], [X3])
_shape_op("slice_along_axis.last", lambda t: ops.slice_along_axis(t, 0, 2, axis=-1), lambda a: a[..., 0:2], [X3])


def _np_scatter_update(x, idx, upd):
    x = x.copy()
    for row, u in zip(idx, upd):
        x[tuple(row)] = u
    return x


_shape_op("scatter_update", lambda t, i, u: ops.scatter_update(t, i, u), _np_scatter_update,
          [X, np.array([[0, 1], [2, 3], [1, 0]], np.int32), np.array([9.0, -8.0, 7.5], np.float32)], grad=(0, 2))
_shape_op("scatter_update.rows", lambda t, i, u: ops.scatter_update(t, i, u), _np_scatter_update,
          [X, np.array([[2], [0]], np.int32), f32(115, (2, 4))], grad=(0, 2))
_shape_op("unique_int", lambda t: ops.unique_int(t), np.unique, [np.array([3, 1, 3, -2, 1, 7], np.int32)],
          grad=False)

# ----------------------------------------------------------------------------------------------------------------
# Linear algebra

LIN = dict(rtol=1e-5, atol=2e-6, ref_rtol=5e-5, ref_atol=5e-6)
_shape_op("matmul", lambda a, b: ops.matmul(a, b), np.matmul, [X, f32(116, (4, 5))], **LIN)
_shape_op("matmul.batched", lambda a, b: ops.matmul(a, b), np.matmul, [X3, f32(117, (5, 2))], **LIN)
_shape_op("matmul.broadcast", lambda a, b: ops.matmul(a, b), np.matmul,
          [f32(118, (2, 1, 3, 4)), f32(119, (3, 4, 2))], **LIN)
_shape_op("matmul.vector", lambda a, b: ops.matmul(a, b), np.matmul, [f32(120, (4,)), f32(121, (4, 5))], **LIN)
_shape_op("dot", lambda a, b: ops.dot(a, b), np.dot, [f32(122, (5,)), f32(123, (5,))], **LIN)
_shape_op("dot.matrix", lambda a, b: ops.dot(a, b), np.dot, [X, f32(124, (4, 3))], **LIN)
_shape_op("dot.matrix_vector", lambda a, b: ops.dot(a, b), np.dot, [X, f32(125, (4,))], **LIN)
_shape_op("tensordot", lambda a, b: ops.tensordot(a, b), np.tensordot, [X3, f32(126, (4, 5, 2))], **LIN)
_shape_op("tensordot.axes1", lambda a, b: ops.tensordot(a, b, axes=1), lambda a, b: np.tensordot(a, b, axes=1),
          [X3, f32(127, (5, 2))], **LIN)
_shape_op("tensordot.pairs", lambda a, b: ops.tensordot(a, b, axes=([0, 2], [1, 0])),
          lambda a, b: np.tensordot(a, b, axes=([0, 2], [1, 0])), [X3, f32(128, (5, 3, 2))], **LIN)
for _i, (_eq, _shapes) in enumerate([("ij,jk->ik", [(3, 4), (4, 2)]), ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]),
                                     ("ii->i", [(4, 4)]), ("i,i->", [(5,), (5,)]), ("ijk->kj", [(2, 3, 4)])]):
    _shape_op(f"einsum.{_eq.replace(',', '_').replace('->', '_to_') or 'x'}",
              (lambda e: lambda *t: ops.einsum(e, *t))(_eq), (lambda e: lambda *a: np.einsum(e, *a))(_eq),
              [f32(130 + _i * 3 + j, s) for j, s in enumerate(_shapes)], **LIN)

# ----------------------------------------------------------------------------------------------------------------
# Composites written once in kshim.ops


W4 = f32(140, (4,), 0.2, 2.0)
_shape_op("average", lambda t: ops.average(t), np.average, [X], **RED)
_shape_op("average.weights", lambda t, w: ops.average(t, axis=1, weights=w),
          lambda a, w: np.average(a, axis=1, weights=w), [X, W4], **RED)
_shape_op("average.weights_full", lambda t, w: ops.average(t, axis=0, weights=w),
          lambda a, w: np.average(a, axis=0, weights=w), [X, f32(141, (3, 4), 0.2, 2.0)], **RED)
_shape_op("average.weights_1d_axis0", lambda t, w: ops.average(t, axis=0, weights=w),
          lambda a, w: np.average(a, axis=0, weights=w), [X, f32(142, (3,), 0.2, 2.0)], **RED)
_shape_op("moments", lambda t: ops.moments(t, axes=(0, 2)),
          lambda a: [np.mean(a, axis=(0, 2)), np.var(a, axis=(0, 2))], [X3], **RED)
_shape_op("moments.keepdims", lambda t: ops.moments(t, axes=(1,), keepdims=True),
          lambda a: [np.mean(a, axis=1, keepdims=True), np.var(a, axis=1, keepdims=True)], [X3], **RED)
_shape_op("norm", lambda t: ops.norm(t), lambda a: np.sqrt(np.sum(a * a)), [X3], **RED)
_shape_op("norm.axis", lambda t: ops.norm(t, axis=-1), lambda a: np.linalg.norm(a, axis=-1), [X3], **RED)
_shape_op("norm.ord1", lambda t: ops.norm(t, ord=1, axis=1, keepdims=True),
          lambda a: np.linalg.norm(a, ord=1, axis=1, keepdims=True), [X3], **RED)
_shape_op("norm.inf", lambda t: ops.norm(t, ord=float("inf"), axis=0),
          lambda a: np.linalg.norm(a, ord=np.inf, axis=0), [X], **RED)


def _np_l2_normalize(a, axis=-1, eps=1e-12):
    return a / np.sqrt(np.maximum(np.sum(a * a, axis=axis, keepdims=True), eps))


_shape_op("l2_normalize", lambda t: ops.l2_normalize(t), _np_l2_normalize, [X3], **RED)
_shape_op("l2_normalize.axis0", lambda t: ops.l2_normalize(t, axis=0), lambda a: _np_l2_normalize(a, 0), [X], **RED)
_shape_op("l2_normalize.zero_row", lambda t: ops.l2_normalize(t), _np_l2_normalize,
          [np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]], np.float32)], grad=False)
_shape_op("count_nonzero", lambda t: ops.count_nonzero(t), np.count_nonzero, [TIES - 2.0], grad=False)
_shape_op("count_nonzero.axis", lambda t: ops.count_nonzero(t, axis=0), lambda a: np.count_nonzero(a, axis=0),
          [TIES - 2.0], grad=False)


@case("ops.split.list_type", reference=lambda: {"n": np.array(3), "is_list": np.array(True)})
def _split_type():
    parts = ops.split(ops.zeros((6, 2)), 3)
    return {"n": np.array(len(parts)), "is_list": np.array(isinstance(parts, (list, tuple)))}
