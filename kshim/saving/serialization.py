"""``kshim.saving.serialization``: kept for backward compatibility. Object configs live in `kshim.serialization`
(below the layers, which use them) and the custom objects in `kshim.registry`."""

from kshim.registry import (  # noqa: F401
    CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name, get_registered_object,
    in_safe_mode, loading_scope, register_keras_serializable,
)
from kshim.serialization import (  # noqa: F401
    deserialize_function, deserialize_keras_object, serialize_function, serialize_keras_object,
)
