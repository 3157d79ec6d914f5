"""PyTorch backend: ONNX export through ``torch.onnx`` with the torch.export-based exporter (it needs the
``onnxscript`` package; both come with the ``onnx`` extra)."""

import warnings

import torch

from kshim.backends.torch.core import DEVICE


class _Serving(torch.nn.Module):
    """The function to export as a module: the weights are its buffers (so they become ONNX initializers, not
    traced constants), the inputs its positional arguments."""

    def __init__(self, fn, values):
        super().__init__()
        self._fn = fn
        self._count = len(values)
        for i, v in enumerate(values):
            self.register_buffer(f"w{i}", v.detach())

    def forward(self, *inputs):
        values = [getattr(self, f"w{i}") for i in range(self._count)]
        return tuple(self._fn(values, list(inputs)))


def _example(shape, dtype):
    # 2 for each dynamic size: torch.export specializes sizes 0 and 1
    return torch.zeros(tuple(2 if d is None else int(d) for d in shape), dtype=getattr(torch, dtype), device=DEVICE)


def export_onnx(fn, values, input_specs, filepath, input_names, output_names, opset_version=None):
    try:
        import onnxscript  # noqa: F401  (the exporter needs it; fail here with a clear message)
    except ImportError as e:
        raise ImportError("export(format='onnx') on the torch backend needs the `onnx` and `onnxscript` packages: "
                          "`pip install onnx onnxscript` (or `pip install kshim[onnx]`).") from e
    batch = torch.export.Dim("batch")
    dynamic = []
    for i, (shape, _) in enumerate(input_specs):
        dynamic.append({axis: batch if axis == 0 else torch.export.Dim(f"input{i}_dim{axis}")
                        for axis, d in enumerate(shape) if d is None} or None)
    examples = tuple(_example(shape, dtype) for shape, dtype in input_specs)
    module = _Serving(fn, values).eval()
    kwargs = {} if opset_version is None else {"opset_version": opset_version}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's progress notes and deprecation chatter
        torch.onnx.export(module, examples, str(filepath), input_names=list(input_names),
                          output_names=list(output_names), dynamic_shapes=(tuple(dynamic),), dynamo=True,
                          verbose=False, report=False, **kwargs)
