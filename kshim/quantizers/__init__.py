"""kshim.quantizers: Keras 3's quantizers (see `kshim.quantizers.quantizers`)."""

from kshim.quantizers.quantizers import (AbsMaxQuantizer, Quantizer, abs_max_quantize, compute_float8_amax_history,
                                         compute_float8_scale, fake_quant_with_min_max_vars,
                                         quantize_and_dequantize)
from kshim.quantizers.int4 import abs_max_quantize_grouped_with_zero_point, pack_int4, unpack_int4

ALL_OBJECTS = (Quantizer, AbsMaxQuantizer)


def get(identifier):
    """A quantizer from an instance, a class name or a config dict."""
    if identifier is None or isinstance(identifier, Quantizer):
        return identifier
    if isinstance(identifier, dict):
        name, cfg = identifier.get("class_name"), identifier.get("config", {})
    else:
        name, cfg = identifier, {}
    classes = {c.__name__: c for c in ALL_OBJECTS}
    if name not in classes:
        raise ValueError(f"quantizers.get: unknown quantizer {name!r}; expected one of {sorted(classes)}. "
                         f"Received: {identifier!r}")
    return classes[name].from_config(cfg)


__all__ = ["Quantizer", "AbsMaxQuantizer", "abs_max_quantize", "compute_float8_amax_history",
           "compute_float8_scale", "fake_quant_with_min_max_vars", "quantize_and_dequantize", "get",
           "abs_max_quantize_grouped_with_zero_point", "pack_int4", "unpack_int4"]
