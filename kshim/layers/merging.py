"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, and their functional forms
(`add`, `subtract`, ... `dot`), with Keras 3's semantics.

Every merge layer is called on a list of tensors. The elementwise ones (Add ... Minimum) broadcast the non-batch
axes numpy-style, right-aligned: an input of lower rank gets size-1 axes inserted after the batch axis, and
size-1 axes stretch; the batch sizes must agree. Shapes are computed from the input shapes alone, so the layers
work on symbolic tensors in ``Model(inputs, outputs)``.

Masks follow Keras 3: the output mask of an elementwise merge is the OR of the input masks (None if any input has
none); Multiply treats masked entries as 1 and zeroes fully masked positions; Maximum and Minimum ignore masked
entries (a position masked in every input keeps the first input's value); Concatenate concatenates the masks
(an unmasked input counts as all valid) and reduces over the last axis; Dot returns no mask.
"""

import numpy as np

from kshim import config, ops
from kshim.layers.layer import Layer


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)) for d in value)


class Merge(Layer):
    """The base of the merge layers: validates the list of inputs and computes broadcast shapes and masks."""

    _min_inputs = 2
    _exact_inputs = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    # -- shapes --------------------------------------------------------------------------------------------------
    def _input_shapes(self, input_shape):
        """``input_shape`` as a list of shape tuples, after checking it is a list of the right length."""
        cls = type(self).__name__
        single = isinstance(input_shape, tuple) and not input_shape  # the shape of one scalar tensor
        if single or not isinstance(input_shape, (list, tuple)) or (input_shape and _is_shape(input_shape)):
            shown = tuple(input_shape) if isinstance(input_shape, (list, tuple)) else input_shape
            raise ValueError(f"{cls}: `inputs` must be a list of tensors. Received: a single input of shape "
                             f"{shown}. Pass the tensors as a list, e.g. `{cls}()([x1, x2])`.")
        shapes = [tuple(s) if _is_shape(s) else s for s in input_shape]
        if not all(isinstance(s, tuple) for s in shapes):
            raise ValueError(f"{cls}: `inputs` must be a list of tensors. Received: input_shape={input_shape!r}")
        n = len(shapes)
        if self._exact_inputs is not None and n != self._exact_inputs:
            raise ValueError(f"{cls}: `inputs` must be a list of exactly {self._exact_inputs} tensors. "
                             f"Received: {n} input(s) with shapes {shapes}")
        if n < self._min_inputs:
            raise ValueError(f"{cls}: `inputs` must be a list of at least {self._min_inputs} tensor(s). "
                             f"Received: {n} input(s) with shapes {shapes}")
        batch_sizes = {s[0] for s in shapes if s and s[0] is not None}
        if len(batch_sizes) > 1:
            raise ValueError(f"{cls}: the inputs must have the same batch size. Received: input shapes {shapes}")
        if any(len(s) == 0 for s in shapes):
            raise ValueError(f"{cls}: every input must have a batch axis (rank >= 1). "
                             f"Received: input shapes {shapes}")
        return shapes

    def _broadcast(self, shapes):
        """The broadcast shape of the non-batch axes (right-aligned), or a ValueError naming the shapes."""
        out = ()
        for s in shapes:
            a, b = (out, s[1:]) if len(out) >= len(s) - 1 else (s[1:], out)
            head, tail = list(a[:len(a) - len(b)]), []
            for i, j in zip(a[len(a) - len(b):], b):
                if i is None or j is None:
                    known = j if i is None else i
                    tail.append(known if known is not None and known != 1 else None)
                elif i == 1 or j == 1 or i == j:
                    tail.append(j if i == 1 else i)
                else:
                    raise ValueError(f"{type(self).__name__}: the inputs have incompatible shapes; the axes after "
                                     f"the batch axis must be equal or 1. Received: input shapes {shapes}")
            out = tuple(head + tail)
        return out

    def build(self, input_shape):
        shapes = self._input_shapes(input_shape)
        self._validate(shapes)
        self.built = True

    def _validate(self, shapes):
        self._broadcast(shapes)

    def compute_output_shape(self, input_shape):
        shapes = self._input_shapes(input_shape)
        batch = next((s[0] for s in shapes if s[0] is not None), None)
        return (batch,) + self._broadcast(shapes)

    # -- calling -------------------------------------------------------------------------------------------------
    def _aligned(self, inputs):
        """The inputs as a list, lower-rank ones given size-1 axes after the batch axis (Keras's reshape)."""
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{type(self).__name__}: `inputs` must be a list of tensors. "
                             f"Received: a single tensor of shape {tuple(ops.shape(inputs))}")
        inputs = list(inputs)
        rank = max(ops.ndim(x) for x in inputs)
        out = []
        for x in inputs:
            for _ in range(rank - ops.ndim(x)):
                x = ops.expand_dims(x, 1)
            out.append(x)
        return out

    def call(self, inputs):
        return self._merge(self._aligned(inputs))

    def _merge(self, inputs):
        raise NotImplementedError

    # -- masks ---------------------------------------------------------------------------------------------------
    def _check_masks(self, inputs, mask):
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{type(self).__name__}: `mask` must be a list with one mask (or None) per input. "
                             f"Received: mask={mask!r}")
        if not isinstance(inputs, (list, tuple)) or len(mask) != len(inputs):
            n = len(inputs) if isinstance(inputs, (list, tuple)) else 1
            raise ValueError(f"{type(self).__name__}: `mask` must have one entry per input. Received: "
                             f"{len(mask)} masks for {n} inputs")
        return list(mask)

    def compute_mask(self, inputs, mask=None):
        """The OR of the input masks; None when no mask is given or some input has none (Keras 3)."""
        if mask is None:
            return None
        masks = self._check_masks(inputs, mask)
        if any(m is None for m in masks):
            return None
        out = ops.cast(masks[0], "bool")
        for m in masks[1:]:
            out = ops.logical_or(out, ops.cast(m, "bool"))
        return out

    def _value_masks(self, inputs, mask):
        """Each input's mask broadcast to the input's shape (None where unmasked), or None if none applies."""
        if mask is None:
            return None
        masks = self._check_masks(inputs, mask)
        if all(m is None for m in masks) or len({ops.ndim(x) for x in inputs}) > 1:
            return None
        out = []
        for x, m in zip(inputs, masks):
            if m is not None:
                m = ops.cast(m, "bool")
                if ops.ndim(m) < ops.ndim(x):
                    m = ops.expand_dims(m, -1)
                m = ops.broadcast_to(m, tuple(ops.shape(x)))
            out.append(m)
        return out


class Add(Merge):
    """The elementwise sum of a list of tensors."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return out


class Subtract(Merge):
    """``inputs[0] - inputs[1]``, for exactly two tensors."""

    _exact_inputs = 2

    def _merge(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


class Multiply(Merge):
    """The elementwise product of a list of tensors. Masked entries count as 1; where every input is masked the
    output is 0 (when all inputs are masked), as in Keras 3."""

    def call(self, inputs, mask=None):
        inputs = self._aligned(inputs)
        masks = self._value_masks(inputs, mask)
        if masks is None:
            out = inputs[0]
            for x in inputs[1:]:
                out = ops.multiply(out, x)
            return out
        out, any_valid = None, None
        for x, m in zip(inputs, masks):
            if m is not None:
                x = ops.where(m, x, ops.ones_like(x))
                any_valid = m if any_valid is None else ops.logical_or(any_valid, m)
            out = x if out is None else ops.multiply(out, x)
        if all(m is not None for m in masks):
            out = ops.where(any_valid, out, ops.zeros_like(out))
        return out


class _Extremum(Merge):
    """Maximum and Minimum: masked entries take no part (Keras 3's rule)."""

    _op = None

    def call(self, inputs, mask=None):
        inputs = self._aligned(inputs)
        masks = self._value_masks(inputs, mask) or [None] * len(inputs)
        op = type(self)._op
        out, out_mask = inputs[0], masks[0]
        for x, m in zip(inputs[1:], masks[1:]):
            if m is not None:
                x = ops.where(m, x, out)
            if out_mask is not None:
                out = ops.where(out_mask, out, x)
            out_mask = ops.logical_or(out_mask, m) if (m is not None and out_mask is not None) else None
            out = op(out, x)
        return out


class Maximum(_Extremum):
    """The elementwise maximum of a list of tensors."""

    _op = staticmethod(ops.maximum)


class Minimum(_Extremum):
    """The elementwise minimum of a list of tensors."""

    _op = staticmethod(ops.minimum)


class Average(Merge):
    """The elementwise mean of a list of tensors."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return ops.divide(out, float(len(inputs)))


class Concatenate(Merge):
    """Concatenates a list of tensors along ``axis`` (default -1); every other axis must match."""

    _min_inputs = 1

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"Concatenate: `axis` must be an integer. Received: axis={axis!r}")
        self.axis = int(axis)

    def _axis(self, shapes):
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError("Concatenate: the inputs must all have the same rank. "
                             f"Received: input shapes {shapes}")
        if not -rank <= self.axis < rank:
            raise ValueError(f"Concatenate: `axis` must be in [{-rank}, {rank - 1}] for inputs of rank {rank}. "
                             f"Received: axis={self.axis}")
        return self.axis % rank

    def _validate(self, shapes):
        self.compute_output_shape(shapes)

    def compute_output_shape(self, input_shape):
        shapes = self._input_shapes(input_shape)
        axis = self._axis(shapes)
        out = []
        for i in range(len(shapes[0])):
            dims = [s[i] for s in shapes]
            if i == axis:
                out.append(None if None in dims else int(sum(dims)))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ValueError("Concatenate: the inputs must have matching shapes except along the "
                                 f"concatenation axis {self.axis}. Received: input shapes {shapes}")
            out.append(known.pop() if known else None)
        return tuple(out)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("Concatenate: `inputs` must be a list of tensors. "
                             f"Received: a single tensor of shape {tuple(ops.shape(inputs))}")
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """The input masks (all-valid for an unmasked input), each broadcast to its input's shape, concatenated
        along ``axis`` and reduced with ``any`` over the last axis (Keras 3)."""
        if mask is None:
            return None
        masks = self._check_masks(inputs, mask)
        if all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                m = ops.ones_like(x, dtype="bool")
            else:
                m = ops.cast(m, "bool")
                if ops.ndim(m) < ops.ndim(x):
                    m = ops.broadcast_to(ops.expand_dims(m, -1), tuple(ops.shape(x)))
            full.append(m)
        return ops.any(ops.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """The dot product of two tensors along ``axes`` (one int for both, or one per input), sample by sample.

    With ``normalize=True`` each input is first L2-normalized along its axis (``x / max(||x||, epsilon)``), so
    the result is the cosine similarity. The batch axis 0 cannot be contracted."""

    _exact_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)

        def is_int(a):
            return isinstance(a, (int, np.integer)) and not isinstance(a, bool)

        if is_int(axes):
            axes = int(axes)
        elif isinstance(axes, (list, tuple)) and len(axes) == 2 and all(is_int(a) for a in axes):
            axes = (int(axes[0]), int(axes[1]))
        else:
            raise ValueError("Dot: `axes` must be an integer or a pair of integers (one axis per input). "
                             f"Received: axes={axes!r}")
        if not isinstance(normalize, (bool, np.bool_)):
            raise ValueError(f"Dot: `normalize` must be a boolean. Received: normalize={normalize!r}")
        self.axes = axes
        self.normalize = bool(normalize)

    def _resolve(self, shapes):
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        out = []
        for a, s in zip(pair, shapes):
            rank = len(s)
            if rank < 2:
                raise ValueError(f"Dot: both inputs must have rank >= 2 (a batch axis and a feature axis). "
                                 f"Received: input shapes {list(shapes)}")
            if not -rank <= a < rank:
                raise ValueError(f"Dot: `axes` {self.axes!r} is out of range for input shape {s}. "
                                 f"Received: axes={self.axes!r}")
            if a % rank == 0:
                raise ValueError("Dot: `axes` cannot include the batch axis 0. "
                                 f"Received: axes={self.axes!r} for input shapes {list(shapes)}")
            out.append(a % rank)
        d1, d2 = shapes[0][out[0]], shapes[1][out[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"Dot: the contracted axes must have the same size. Received: axis {out[0]} of "
                             f"shape {shapes[0]} has size {d1}, axis {out[1]} of shape {shapes[1]} has size {d2} "
                             f"(axes={self.axes!r})")
        return out

    def _validate(self, shapes):
        self._resolve(shapes)

    def compute_output_shape(self, input_shape):
        shapes = self._input_shapes(input_shape)
        a1, a2 = self._resolve(shapes)
        s1, s2 = list(shapes[0]), list(shapes[1])
        batch = s1[0] if s1[0] is not None else s2[0]
        out = [batch] + [d for i, d in enumerate(s1) if i not in (0, a1)] + \
              [d for i, d in enumerate(s2) if i not in (0, a2)]
        return tuple(out) if len(out) > 1 else (batch, 1)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            n = len(inputs) if isinstance(inputs, (list, tuple)) else 1
            raise ValueError(f"Dot: `inputs` must be a list of exactly 2 tensors. Received: {n} input(s)")
        x, y = inputs
        a1, a2 = self._resolve([tuple(ops.shape(x)), tuple(ops.shape(y))])
        if self.normalize:
            eps = config.epsilon() ** 2  # x / max(||x||, eps) == x / sqrt(max(sum x^2, eps^2))
            x = ops.l2_normalize(x, axis=a1, epsilon=eps)
            y = ops.l2_normalize(y, axis=a2, epsilon=eps)
        letters = "bcdefghijklmnopqrstuvwxyz"
        nx, ny = ops.ndim(x), ops.ndim(y)
        xs = ["a"] + list(letters[:nx - 1])
        xs[a1] = "z"
        ys = ["a"] + list(letters[nx - 1:nx + ny - 2])
        ys[a2] = "z"
        out = "".join(c for c in xs if c != "z") + "".join(c for c in ys[1:] if c != "z")
        result = ops.einsum(f"{''.join(xs)},{''.join(ys)}->{out}", x, y)
        if len(out) == 1:
            result = ops.expand_dims(result, -1)
        return result

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        axes = self.axes if isinstance(self.axes, int) else list(self.axes)
        return {**super().get_config(), "axes": axes, "normalize": self.normalize}


# -- the functional forms (keras.layers.add, ...) --------------------------------------------------------------
def _functional_form(layer_class, name, result):
    """The function ``name(inputs, **kwargs)``: ``layer_class(**kwargs)(inputs)``, which returns ``result``."""

    def form(inputs, **kwargs):
        return layer_class(**kwargs)(inputs)

    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"``{layer_class.__name__}(**kwargs)(inputs)``: {result}."
    return form


add = _functional_form(Add, "add", "the elementwise sum of a list of tensors")
subtract = _functional_form(Subtract, "subtract", "``inputs[0] - inputs[1]``")
multiply = _functional_form(Multiply, "multiply", "the elementwise product of a list of tensors")
average = _functional_form(Average, "average", "the elementwise mean of a list of tensors")
maximum = _functional_form(Maximum, "maximum", "the elementwise maximum of a list of tensors")
minimum = _functional_form(Minimum, "minimum", "the elementwise minimum of a list of tensors")


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis, **kwargs)(inputs)``: the inputs joined along ``axis``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """``Dot(axes, normalize, **kwargs)(inputs)``: the sample-wise dot product of two tensors."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Merge", "Minimum", "Multiply", "Subtract", "add",
           "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]
