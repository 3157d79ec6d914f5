"""Save, serialize and export models: `.keras` round trips of a model with registered custom objects (a custom
layer, a custom activation function), `get_config`/`from_config` with `custom_objects`, `custom_object_scope`,
`clone_model`, weights-only saving, and `keras.layers.serialize`.

Source: keras-team/keras-io guides/serialization_and_saving.py
Changed: the data (random arrays); the guide's `keras.utils.get_file` downloads are not used.
"""

import numpy as np
import keras
from keras import ops


def get_model():
    # Create a simple model.
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


model = get_model()

# Train the model.
test_input = np.random.random((128, 32))
test_target = np.random.random((128, 1))
model.fit(test_input, test_target)

# Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
model.save("my_model.keras")

# It can be used to reconstruct the model identically.
reconstructed_model = keras.models.load_model("my_model.keras")

# Let's check:
np.testing.assert_allclose(
    model.predict(test_input), reconstructed_model.predict(test_input)
)


# Define a subclassed model with the same architecture
@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):
    return x**2


@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(keras.layers.Layer):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}


@keras.saving.register_keras_serializable(package="MyModels")
class CustomModel(keras.Model):
    def __init__(self, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        self.dense_layers = [keras.layers.Dense(u) for u in hidden_units]

    def call(self, inputs):
        x = inputs
        for layer in self.dense_layers:
            x = layer(x)
        return x

    def get_config(self):
        base_config = super().get_config()
        config = {
            "hidden_units": keras.saving.serialize_keras_object(self.hidden_units),
        }
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        sublayer_config = config.pop("hidden_units")
        sublayer = keras.saving.deserialize_keras_object(sublayer_config)
        return cls(sublayer, **config)


# Create the model.
def get_model():
    inputs = keras.Input(shape=(4,))
    mid = CustomLayer(0.5)(inputs)
    outputs = keras.layers.Dense(1, activation=custom_fn)(mid)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    return model


# Train the model.
def train_model(model):
    input = np.random.random((4, 4))
    target = np.random.random((4, 1))
    model.fit(input, target)
    return model


test_input = np.random.random((4, 4))
test_target = np.random.random((4, 1))

model = get_model()
model = train_model(model)
model.save("custom_model.keras")

# Now, we can simply load without worrying about our custom objects.
reconstructed_model = keras.models.load_model("custom_model.keras")

# Let's check:
np.testing.assert_allclose(
    model.predict(test_input), reconstructed_model.predict(test_input)
)

model = CustomModel([16, 16, 10])
# Build the model by calling it
input_arr = keras.random.uniform((1, 5))
outputs = model(input_arr)
model.save("custom_model.keras")

# Upon loading, the custom object is automatically found
loaded = keras.saving.load_model("custom_model.keras")
np.testing.assert_allclose(ops.convert_to_numpy(loaded(input_arr)), ops.convert_to_numpy(outputs), rtol=1e-5,
                           atol=1e-6)

# -- Passing custom objects to load_model, and custom_object_scope
model = get_model()
model.save("custom_model.keras")
reconstructed_model = keras.models.load_model(
    "custom_model.keras",
    custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn},
)
with keras.saving.custom_object_scope({"CustomLayer": CustomLayer, "custom_fn": custom_fn}):
    reconstructed_model = keras.models.load_model("custom_model.keras")

# -- clone_model: config plus fresh weights
new_model = keras.models.clone_model(model)
assert new_model.layers[2].activation is custom_fn

# -- Layer and model configs
layer = keras.layers.Dense(3, activation="relu")
layer_config = layer.get_config()
new_layer = keras.layers.Dense.from_config(layer_config)

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
config = model.get_config()
new_model = keras.Sequential.from_config(config)

inputs = keras.Input((32,))
outputs = keras.layers.Dense(1)(inputs)
model = keras.Model(inputs, outputs)
config = model.get_config()
new_model = keras.Model.from_config(config)

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
json_config = model.to_json()
new_model = keras.models.model_from_json(json_config)

# serialize_keras_object / deserialize_keras_object, and keras.layers.serialize
my_reg = keras.regularizers.L1(0.01)
my_reg_config = keras.saving.serialize_keras_object(my_reg)
new_reg = keras.saving.deserialize_keras_object(my_reg_config)
config = keras.layers.serialize(layer)
new_layer = keras.layers.deserialize(config)
assert new_layer.units == 3


# -- Weights-only saving
def create_layer():
    layer = keras.layers.Dense(64, activation="relu", name="dense_2")
    layer.build((None, 784))
    return layer


layer_1 = create_layer()
layer_2 = create_layer()

# Copy weights from layer 1 to layer 2
layer_2.set_weights(layer_1.get_weights())

sequential_model = keras.Sequential(
    [
        keras.Input(shape=(784,), name="digits"),
        keras.layers.Dense(64, activation="relu", name="dense_1"),
        keras.layers.Dense(64, activation="relu", name="dense_2"),
        keras.layers.Dense(10, name="predictions"),
    ]
)
sequential_model.save_weights("ckpt.weights.h5")
load_status = sequential_model.load_weights("ckpt.weights.h5")
