"""kshim.optimizers: Keras 3's optimizers and learning-rate schedules, with Keras 3's numbers.

``get("adam")`` (any case), ``get({"class_name": "Adam", "config": {...}})`` or ``get(instance)``.
"""

from kshim.common.absent import raise_absent as _raise_absent
from kshim.optimizers import schedules
from kshim.optimizers.adadelta import Adadelta
from kshim.optimizers.adafactor import Adafactor
from kshim.optimizers.adagrad import Adagrad
from kshim.optimizers.adam import Adam
from kshim.optimizers.adamax import Adamax
from kshim.optimizers.adamw import AdamW
from kshim.optimizers.ftrl import Ftrl
from kshim.optimizers.lamb import Lamb
from kshim.optimizers.lion import Lion
from kshim.optimizers.muon import Muon
from kshim.optimizers.loss_scale_optimizer import LossScaleOptimizer
from kshim.optimizers.nadam import Nadam
from kshim.optimizers.optimizer import Optimizer
from kshim.optimizers.rmsprop import RMSprop
from kshim.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from kshim.optimizers.sgd import SGD
from kshim.registry import OPTIMIZERS
from kshim.serialization import with_registration

ALL_OBJECTS = (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam, Ftrl, Lion, Lamb, Adafactor, Muon,
               ScheduleFreeAdamW, LossScaleOptimizer)
OPTIMIZERS.register_all(ALL_OBJECTS)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}  # kept for backward compatibility
_CLASS_NAMES = [c.__name__ for c in ALL_OBJECTS]


def serialize(optimizer):
    """The optimizer as a Keras 3 config dict: ``{"module", "class_name", "config", "registered_name"}``."""
    return OPTIMIZERS.serialize(optimizer)


def deserialize(config, custom_objects=None):
    """An optimizer from `serialize`'s dict; built-in class names match case-insensitively."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "deserialize: `config` must be a dict with a 'class_name' key, as `serialize` returns. "
            f"Received: config={config!r}"
        )
    name = config["class_name"]
    custom_objects = custom_objects or {}
    cls = custom_objects.get(name) or custom_objects.get(config.get("registered_name"))
    if cls is None:
        cls = OPTIMIZERS.lookup(str(name), arg="class_name", known=_CLASS_NAMES)
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def get(identifier):
    """An optimizer from a name ("adam", "SGD", ...), a config dict, a class, or an instance (returned as is)."""
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return OPTIMIZERS.lookup(identifier, arg="optimizer")()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(
        "Could not interpret optimizer identifier: expected a name such as 'adam', a config dict or an "
        f"Optimizer instance. Received: optimizer={identifier!r}"
    )


OPTIMIZERS.bind(base=Optimizer, module="keras.optimizers", get=get,
                serialize=lambda optimizer: with_registration(serialize(optimizer), optimizer),
                deserialize=deserialize)


__all__ = ["Optimizer", "schedules", "serialize", "deserialize", "get"] + [c.__name__ for c in ALL_OBJECTS]


# Keras 3 names kshim leaves out on purpose (README.md, "Public names not provided").
_ABSENT = {
    "MultiOptimizer": ("one optimizer trains a model in kshim; per-variable optimizers are not built (compose two"
                       " optimizers in a custom train_step, as the GAN example does)"),
    "OptimizerMap": ("one optimizer trains a model in kshim; per-variable optimizers are not built (compose two "
                     "optimizers in a custom train_step, as the GAN example does)"),
}


def __getattr__(name):
    _raise_absent("kshim.optimizers", name, _ABSENT)
