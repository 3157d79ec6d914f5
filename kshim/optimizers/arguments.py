"""The constructor arguments every optimizer shares, checked in one place, and Keras 2's spellings of them.

Errors name the class, the argument and the value received.
"""

import difflib
import inspect
import numbers
import os
import sys
import warnings

_VALID_ARGUMENTS = {}  # optimizer class -> its constructor arguments, for "did you mean"
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel():
    """The ``stacklevel`` that points a warning at the first caller outside kshim.optimizers."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame, level = frame.f_back, level + 1
    return level


def check_number(cls_name, arg, value, low=None, high=None, low_open=False, high_open=False):
    """Raise ``ValueError`` unless ``value`` is a real number in the given (closed unless said) interval."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if ok:
        return
    if low is not None and high is not None:
        where = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        where = f"a number {'>' if low_open else '>='} {low}"
    elif high is not None:
        where = f"a number {'<' if high_open else '<='} {high}"
    else:
        where = "a number"
    raise ValueError(f"{cls_name}: `{arg}` must be {where}. Received: {arg}={value!r}")


def check_optional(cls_name, arg, value, **kw):
    if value is not None:
        check_number(cls_name, arg, value, **kw)


def check_shared_arguments(cls_name, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                           ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps):
    """Check the arguments `Optimizer` takes for every optimizer."""
    check_optional(cls_name, "weight_decay", weight_decay, low=0)
    check_optional(cls_name, "clipnorm", clipnorm, low=0)
    check_optional(cls_name, "clipvalue", clipvalue, low=0)
    check_optional(cls_name, "global_clipnorm", global_clipnorm, low=0)
    check_optional(cls_name, "loss_scale_factor", loss_scale_factor, low=0, low_open=True)
    n_clip = sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm))
    if n_clip > 1:
        raise ValueError(
            f"{cls_name}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
            f"clipnorm={clipnorm!r}, clipvalue={clipvalue!r}, global_clipnorm={global_clipnorm!r}"
        )
    if gradient_accumulation_steps is not None and (
            not isinstance(gradient_accumulation_steps, numbers.Integral) or gradient_accumulation_steps < 2):
        raise ValueError(
            f"{cls_name}: `gradient_accumulation_steps` must be an integer >= 2. "
            f"Received: gradient_accumulation_steps={gradient_accumulation_steps!r}"
        )
    if use_ema:
        check_number(cls_name, "ema_momentum", ema_momentum, low=0, high=1)
        if ema_overwrite_frequency is not None and (
                not isinstance(ema_overwrite_frequency, numbers.Integral) or ema_overwrite_frequency < 1):
            raise ValueError(
                f"{cls_name}: `ema_overwrite_frequency` must be an integer >= 1 or None. "
                f"Received: ema_overwrite_frequency={ema_overwrite_frequency!r}"
            )


def keras2_arguments(cls, kwargs, learning_rate):
    """``(learning_rate, decay)``: Keras 2's ``lr`` and ``decay`` taken out of ``kwargs``; any other unknown
    keyword is an error with a suggestion among the arguments of ``cls``."""
    cls_name = cls.__name__
    if "lr" in kwargs:
        warnings.warn(f"{cls_name}: `lr` is deprecated; use `learning_rate` instead.", DeprecationWarning,
                      stacklevel=user_stacklevel())
        learning_rate = kwargs.pop("lr")
    decay = kwargs.pop("decay", None)
    if decay is not None:
        check_number(cls_name, "decay", decay, low=0)
        warnings.warn(
            f"{cls_name}: `decay` is deprecated (Keras 2). kshim applies it as Keras 2 did, "
            "lr / (1 + decay * iterations); use a `keras.optimizers.schedules.InverseTimeDecay` instead.",
            DeprecationWarning, stacklevel=user_stacklevel(),
        )
        decay = float(decay) or None
    if kwargs:
        valid = _valid_arguments(cls)
        bad = sorted(kwargs)[0]
        close = difflib.get_close_matches(bad, valid, n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise ValueError(
            f"{cls_name}: unknown argument `{bad}`.{hint} Received: {bad}={kwargs[bad]!r}. "
            f"Valid arguments: {', '.join(valid)}."
        )
    return learning_rate, decay


def _valid_arguments(cls):
    """The constructor arguments of ``cls`` and its bases, then Keras 2's ``lr`` and ``decay``."""
    names = _VALID_ARGUMENTS.get(cls)
    if names is None:
        names = []
        for klass in cls.__mro__:
            if "__init__" in vars(klass) and klass is not object:
                params = inspect.signature(klass.__init__).parameters.values()
                names += [p.name for p in params if p.name not in names and p.name != "self"
                          and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        names = names + ["lr", "decay"]
        _VALID_ARGUMENTS[cls] = names
    return names
