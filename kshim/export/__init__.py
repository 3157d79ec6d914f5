"""kshim.export: ONNX export on both backends (`Model.export(path, format="onnx")` and `ExportArchive`)."""

from kshim.export.export_archive import ExportArchive
from kshim.export.onnx_export import export_model

__all__ = ["ExportArchive", "export_model"]
