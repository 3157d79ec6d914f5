"""`export_model`: what `Model.export(filepath, format="onnx")` does. The model's inputs (or the given
``input_signature``) become the ONNX graph's inputs, with a dynamic batch axis; the weights become initializers;
the graph runs the model in inference mode."""

from kshim.export.export_archive import ExportArchive, check_format


def _model_signature(model):
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(f"Model.export: the model '{model.name}' has no known inputs (it is not built, or it is a "
                         "subclassed model); give `input_signature`, e.g. "
                         "[kshim.layers.InputSpec(shape=(None, 3), dtype='float32')].")
    return list(inputs)


def export_model(model, filepath, format="onnx", verbose=True, input_signature=None, opset_version=None,
                 **kwargs):
    """Write ``model`` as an ONNX file (see the module docstring)."""
    check_format(format, "Model.export")
    if kwargs:
        raise ValueError(f"Model.export: unrecognized keyword arguments {sorted(kwargs)}.")
    signature = list(input_signature) if input_signature is not None else _model_signature(model)
    single = len(signature) == 1

    def serve(*inputs):
        return model(inputs[0] if single else list(inputs), training=False)

    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=signature)
    archive.write_out(filepath, format=format, verbose=verbose, opset_version=opset_version)
