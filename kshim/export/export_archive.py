"""`ExportArchive`: Keras 3's API for exporting chosen functions of tracked models and layers, writing ONNX on
both backends (Keras 3 itself needs TensorFlow to export)."""

from kshim import ops
from kshim.backends import load_family
from kshim.layers.input_spec import InputSpec
from kshim.layers.keras_tensor import KerasTensor
from kshim.variables import swap_values

FORMATS = ("onnx",)


def check_format(format, where):
    if format not in FORMATS:
        raise ValueError(f"{where}: `format` must be one of {FORMATS}: kshim exports ONNX from either backend "
                         "(Keras's 'tf_saved_model', 'litert' and 'openvino' need TensorFlow or OpenVINO). "
                         f"Received: format={format!r}")


def _spec(item, where):
    """(shape, dtype, name) of one entry of an input signature."""
    if isinstance(item, (InputSpec, KerasTensor)):
        if item.shape is None:
            raise ValueError(f"{where}: every input spec needs a `shape`. Received: {item!r}")
        return tuple(item.shape), str(item.dtype or "float32"), getattr(item, "name", None)
    if isinstance(item, (tuple, list)) and all(d is None or isinstance(d, int) for d in item):
        return tuple(item), "float32", None
    if hasattr(item, "shape") and hasattr(item, "dtype"):
        return tuple(item.shape), str(item.dtype), getattr(item, "name", None)
    raise ValueError(f"{where}: each entry of `input_signature` must be a `kshim.layers.InputSpec`, a KerasTensor, "
                     f"a shape tuple, or an array-like with `shape` and `dtype`. Received: {item!r}")


def _flatten(structure):
    if isinstance(structure, dict):
        return [v for key in sorted(structure) for v in _flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [v for item in structure for v in _flatten(item)]
    return [structure]


class ExportArchive:
    """Collects the resources (models, layers) to export and the functions ("endpoints") over them, then writes
    one endpoint as an ONNX model::

        archive = kshim.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", model.call, input_signature=[kshim.layers.InputSpec(shape=(None, 3))])
        archive.write_out("model.onnx")
    """

    def __init__(self):
        self._tracked = []
        self._endpoints = {}

    @property
    def variables(self):
        seen, out = set(), []
        for resource in self._tracked:
            for v in resource.variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    def track(self, resource):
        """Track a layer or model: its variables are written into the exported file as constants."""
        if not hasattr(resource, "variables") or not hasattr(resource, "built"):
            raise ValueError(f"ExportArchive.track: `resource` must be a kshim Layer or Model. "
                             f"Received: {type(resource).__name__}")
        if not resource.built:
            raise ValueError(f"ExportArchive.track: the layer '{resource.name}' is not built yet; call it on data "
                             "(or build it) first.")
        if all(r is not resource for r in self._tracked):
            self._tracked.append(resource)

    def add_endpoint(self, name, fn=None, input_signature=None, **kwargs):
        """Register ``fn`` (a function of the input tensors, for example ``model.call``) under ``name``;
        ``input_signature`` lists one spec per positional input, with None for the dynamic (batch) axes."""
        if kwargs:
            raise ValueError(f"ExportArchive.add_endpoint: unrecognized keyword arguments {sorted(kwargs)}.")
        if not isinstance(name, str) or not name:
            raise ValueError(f"ExportArchive.add_endpoint: `name` must be a non-empty string. Received: {name!r}")
        if name in self._endpoints:
            raise ValueError(f"ExportArchive.add_endpoint: an endpoint named {name!r} already exists.")
        if fn is None or not callable(fn):
            raise ValueError(f"ExportArchive.add_endpoint: `fn` must be a callable. Received: fn={fn!r}")
        if not input_signature:
            raise ValueError("ExportArchive.add_endpoint: give `input_signature`, one spec per input of `fn`, "
                             "e.g. [kshim.layers.InputSpec(shape=(None, 3), dtype='float32')].")
        where = f"ExportArchive.add_endpoint({name!r})"
        specs = [_spec(item, where) for item in input_signature]
        self._endpoints[name] = (fn, specs)
        return fn

    def track_and_add_endpoint(self, name, resource, input_signature, **kwargs):
        """`track` the resource and add its ``__call__`` as an endpoint."""
        self.track(resource)
        return self.add_endpoint(name, resource.__call__, input_signature, **kwargs)

    def write_out(self, filepath, format="onnx", verbose=True, endpoint=None, opset_version=None):
        """Write one endpoint (the only one, or ``endpoint``) as an ONNX file at ``filepath``."""
        check_format(format, "ExportArchive.write_out")
        if not self._endpoints:
            raise ValueError("ExportArchive.write_out: add an endpoint first (`add_endpoint`).")
        if endpoint is None:
            if len(self._endpoints) > 1:
                raise ValueError(f"ExportArchive.write_out: an ONNX file holds one function; name the one to write "
                                 f"with `endpoint=` (one of {sorted(self._endpoints)}).")
            endpoint = next(iter(self._endpoints))
        if endpoint not in self._endpoints:
            raise ValueError(f"ExportArchive.write_out: unknown endpoint {endpoint!r}; the endpoints are "
                             f"{sorted(self._endpoints)}.")
        fn, specs = self._endpoints[endpoint]
        variables = self.variables
        names = _unique_names([name or f"input_{i}" for i, (_, _, name) in enumerate(specs)])
        def stateless(values, inputs):
            old = swap_values(variables, values)
            try:
                outputs = _flatten(fn(*inputs))
            finally:
                swap_values(variables, old)
            return outputs

        outputs = _output_count(fn, specs)
        load_family("export").export_onnx(stateless, [v.value for v in variables], [(shape, dtype) for shape, dtype, _ in specs],
                      str(filepath), names, [f"output_{i}" for i in range(outputs)], opset_version)
        if verbose:
            print(f"Saved the '{endpoint}' endpoint as ONNX at {filepath!r}: inputs {names}, "
                  f"{outputs} output(s).")


def _unique_names(names):
    seen, out = {}, []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name] - 1}")
    return out


def _output_count(fn, specs):
    """How many outputs ``fn`` returns, from one eager call on zeros (a symbolic call would add graph nodes)."""
    outputs = fn(*[ops.zeros(tuple(2 if d is None else d for d in shape), dtype) for shape, dtype, _ in specs])
    return len(_flatten(outputs))
