"""What ``compile`` resolves, in one import: the loss (`compile_loss`), the metrics and loss trackers
(`compile_metrics`), and the model's outputs and inputs with the data lined up with them (`model_outputs`)."""

from kshim.trainer.compile_loss import CompileLoss, check_targets, resolve_crossentropy
from kshim.trainer.compile_metrics import CompileMetrics
from kshim.trainer.model_outputs import ModelOutputs, check_inputs, describe_outputs, shape_of_batch

__all__ = ["CompileLoss", "CompileMetrics", "ModelOutputs", "check_inputs", "check_targets", "describe_outputs",
           "resolve_crossentropy", "shape_of_batch"]
