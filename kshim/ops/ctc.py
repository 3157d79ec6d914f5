"""Connectionist temporal classification (Keras 3's ``keras.ops.ctc_loss`` and ``ctc_decode``), written on the
primitives: the loss is the forward (alpha) recursion in log space, unrolled over the static number of time steps;
decoding is greedy (best path)."""

from kshim.backends import B
from kshim.ops import symbolic as _symbolic

_LOG_ZERO = -1e5  # the log of an impossible path: finite, so that no NaN appears in values or gradients


def _logsumexp(*terms):
    top = terms[0]
    for t in terms[1:]:
        top = B.maximum(top, t)
    total = B.exp(B.subtract(terms[0], top))
    for t in terms[1:]:
        total = B.add(total, B.exp(B.subtract(t, top)))
    return B.add(top, B.log(total))


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """The CTC loss per sequence, shape (batch,): ``-log p(target | output)`` for ``target`` (batch, max_label)
    int labels of ``target_length``, ``output`` (batch, max_time, classes) logits of ``output_length`` steps, and
    the blank class ``mask_index``."""
    target = B.cast(B.convert_to_tensor(target), "int32")
    output = B.convert_to_tensor(output)
    if not str(B.dtype(output)).startswith(("float", "bfloat")):
        output = B.cast(output, "float32")
    if len(B.shape(target)) != 2 or len(B.shape(output)) != 3:
        raise ValueError(f"ctc_loss: `target` must be (batch, max_label_length) and `output` (batch, max_time, "
                         f"num_classes). Received: target.shape={tuple(B.shape(target))}, "
                         f"output.shape={tuple(B.shape(output))}")
    batch, steps, classes = B.shape(output)
    labels = B.shape(target)[1]
    dtype = str(B.dtype(output))
    logp = B.log_softmax(output, axis=-1)
    # The extended label sequence: blank, l1, blank, l2, ..., blank (length 2L + 1).
    blank = B.full_like(target, mask_index)
    ext = B.reshape(B.stack([blank, target], axis=2), (batch, 2 * labels))
    ext = B.concatenate([ext, B.slice_along_axis(blank, 0, 1, 1)], axis=1)
    size = 2 * labels + 1
    # A skip from s - 2 to s is allowed where ext[s] is a label different from ext[s - 2].
    shifted = B.concatenate([B.full_like(B.slice_along_axis(ext, 0, 2, 1), -1),
                             B.slice_along_axis(ext, 0, size - 2, 1)], axis=1)
    skip = B.logical_and(B.not_equal(ext, mask_index), B.not_equal(ext, shifted))
    log_zero = B.cast(B.full((batch, size), _LOG_ZERO), dtype)
    skip_mask = B.where(skip, B.zeros_like(log_zero), log_zero)
    # logp of the extended labels at every step: (batch, time, size)
    emit = B.take_along_axis(logp, B.broadcast_to(B.expand_dims(ext, 1), (batch, steps, size)), axis=2)
    first = B.less(B.arange(size), 2)
    alpha = B.where(B.expand_dims(first, 0), B.slice_along_axis(emit, 0, 1, 1)[:, 0], log_zero)
    lengths = B.cast(B.convert_to_tensor(output_length), "int32")
    pad1 = B.slice_along_axis(log_zero, 0, 1, 1)
    pad2 = B.slice_along_axis(log_zero, 0, 2, 1)
    for t in range(1, steps):
        prev1 = B.concatenate([pad1, B.slice_along_axis(alpha, 0, size - 1, 1)], axis=1)
        prev2 = B.add(B.concatenate([pad2, B.slice_along_axis(alpha, 0, size - 2, 1)], axis=1), skip_mask)
        step = B.add(_logsumexp(alpha, prev1, prev2), B.slice_along_axis(emit, t, t + 1, 1)[:, 0])
        alpha = B.where(B.expand_dims(B.less(t, lengths), 1), step, alpha)
    last = B.expand_dims(B.multiply(B.cast(B.convert_to_tensor(target_length), "int32"), 2), 1)  # index 2L
    end = B.take_along_axis(alpha, last, axis=1)
    before = B.take_along_axis(alpha, B.maximum(B.subtract(last, 1), 0), axis=1)
    before = B.where(B.greater(last, 0), before, B.cast(B.full(B.shape(before), _LOG_ZERO), dtype))
    return B.negative(B.squeeze(_logsumexp(end, before), axis=1))


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Greedy CTC decoding of ``inputs`` (batch, max_time, classes): the best class per step, repeats merged
    (``merge_repeated``) and ``mask_index`` dropped, left-aligned and padded with -1. Returns ``(decoded,
    log_probabilities)``: decoded (1, batch, max_time) int32, and (batch, 1) the negative sum of the best log
    probabilities."""
    if strategy != "greedy":
        raise NotImplementedError(f"ctc_decode: kshim decodes with strategy='greedy' only. "
                                  f"Received: strategy={strategy!r}")
    x = B.convert_to_tensor(inputs)
    if not str(B.dtype(x)).startswith(("float", "bfloat")):
        x = B.cast(x, "float32")
    batch, steps, _ = B.shape(x)
    lengths = B.cast(B.convert_to_tensor(sequence_lengths), "int32")
    logp = B.log_softmax(x, axis=-1)
    best = B.cast(B.argmax(logp, axis=-1), "int32")
    score = B.max(logp, axis=-1)
    valid = B.less(B.expand_dims(B.arange(steps), 0), B.expand_dims(lengths, 1))
    keep = B.logical_and(valid, B.not_equal(best, mask_index))
    if merge_repeated:
        previous = B.concatenate([B.full_like(B.slice_along_axis(best, 0, 1, 1), -1),
                                  B.slice_along_axis(best, 0, steps - 1, 1)], axis=1)
        keep = B.logical_and(keep, B.not_equal(best, previous))
    # Left-align the kept labels: a stable sort of the positions with the dropped ones last.
    order = B.argsort(B.add(B.multiply(B.cast(B.logical_not(keep), "int32"), steps), B.arange(steps)), axis=1)
    labels = B.take_along_axis(B.where(keep, best, B.full_like(best, -1)), order, axis=1)
    log_probs = B.negative(B.sum(B.where(valid, score, B.zeros_like(score)), axis=1, keepdims=True))
    return B.expand_dims(labels, 0), log_probs


__all__ = ["ctc_loss", "ctc_decode"]

_symbolic.install(globals(), __all__, "keras.src.ops.nn")
