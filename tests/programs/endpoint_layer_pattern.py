"""Endpoint layer pattern: a layer that takes the targets and the logits, adds the loss and a metric itself and
returns predictions; the model is compiled without a loss and fit on a dict of inputs that includes the targets.

Source: keras-team/keras-io examples/keras_recipes/endpoint_layer_pattern.py
Changed: `LogisticEndpoint.__init__` takes `**kwargs` and passes them on, so that `load_model` can rebuild it from
its config (`name`, `trainable`, `dtype`); the recipe as published fails there in Keras 3.15.1 too ("__init__() got
an unexpected keyword argument 'trainable'"). The recipe already trains on random arrays.
"""

import os
import numpy as np

import keras
from keras import ops


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_fn = keras.metrics.BinaryAccuracy(name="accuracy")

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            # Compute the training-time loss value and add it
            # to the layer using `self.add_loss()`.
            loss = self.loss_fn(targets, logits, sample_weight)
            self.add_loss(loss)

            # Log the accuracy as a metric (we could log arbitrary metrics,
            # including different metrics for training and inference.)
            self.accuracy_fn.update_state(targets, logits, sample_weight)

        # Return the inference-time prediction tensor (for `.predict()`).
        return ops.softmax(logits)


layer = LogisticEndpoint()

targets = np.ones((2, 2))
logits = np.ones((2, 2))
y = layer(logits, targets)

print("layer.losses:", layer.losses)
print("layer.metrics:", layer.metrics)

inputs = keras.Input((764,), name="inputs")
logits = keras.layers.Dense(1)(inputs)
targets = keras.Input((1,), name="targets")
sample_weight = keras.Input((1,), name="sample_weight")
preds = LogisticEndpoint()(logits, targets, sample_weight)
model = keras.Model([inputs, targets, sample_weight], preds)

data = {
    "inputs": np.random.random((1000, 764)),
    "targets": np.random.random((1000, 1)),
    "sample_weight": np.random.random((1000, 1)),
}

model.compile(keras.optimizers.Adam(1e-3))
model.fit(data, epochs=2)

model.save("model.keras")
new_model = keras.models.load_model(
    "model.keras", custom_objects={"LogisticEndpoint": LogisticEndpoint}
)

predictions = new_model.predict(data)

# A model with an endpoint layer, trained without targets at inference
inputs = keras.Input((764,), name="inputs")
logits = keras.layers.Dense(1)(inputs)
preds = LogisticEndpoint()(logits, targets=None, sample_weight=None)
inference_model = keras.Model(inputs, preds)

inference_model.set_weights(model.get_weights()[:2])

print(inference_model.predict(np.random.random((1000, 764))).shape)
