"""kshim.mixed_precision: Keras 3's legacy names for dtype policies and loss scaling.

``set_global_policy("mixed_float16")`` makes every layer created afterwards compute in float16 with float32
variables; ``compile`` then wraps the optimizer in a `LossScaleOptimizer`, as Keras 3 does.
"""

from kshim.dtype_policies import DTypePolicy, dtype_policy, set_dtype_policy
from kshim.optimizers.loss_scale_optimizer import LossScaleOptimizer

Policy = DTypePolicy
set_global_policy = set_dtype_policy
global_policy = dtype_policy

__all__ = ["DTypePolicy", "Policy", "LossScaleOptimizer", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]
