"""kshim.saving: configs now; .keras files and weights come with the saving issue."""
from kshim.saving.serialization import (deserialize_keras_object, register_keras_serializable,
                                        serialize_keras_object)
