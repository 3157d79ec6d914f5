"""The export family: writing a function of arrays as an ONNX model (loaded on first use, by `kshim.export`).

Each backend implements it in its ``export.py``: torch
through ``torch.onnx`` (the torch.export-based exporter, which needs ``onnxscript``), jax through the ``jax2onnx``
package. Both are optional (the ``onnx`` extra); a missing one raises ImportError naming what to install.
"""

def export_onnx(fn, values, input_specs, filepath, input_names, output_names, opset_version=None):
    """Write ``fn`` as the ONNX model ``filepath``.

    ``fn(values, inputs)`` maps the list ``values`` (backend tensors: the weights, which become the model's
    initializers) and the list ``inputs`` (one backend tensor per input) to a list of output tensors; it runs in
    inference mode and is traced once. ``input_specs`` has one ``(shape, dtype)`` per input, where a None entry
    of ``shape`` is a dynamic dimension of the ONNX graph: a None first axis is the shared dimension named
    "batch", any other None is its own named dimension. ``input_names`` and ``output_names`` name the graph's
    inputs and outputs. ``opset_version`` None is the exporter's default. Returns None."""
