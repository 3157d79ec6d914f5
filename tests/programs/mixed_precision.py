"""Mixed precision: a global `mixed_float16` policy, a Dense/Activation model whose final softmax runs in float32,
trained with `fit` (the loss scaling is automatic).

Source: tensorflow/docs site/en/guide/mixed_precision.ipynb, as written for `keras` (Keras 3 keeps
`keras.mixed_precision.set_global_policy` and `layer.dtype_policy`)
Changed: the data (`_data.mnist()` instead of `keras.datasets.mnist.load_data()`), 4096 units -> 64, 5 epochs ->
one.
"""

import keras
from keras import layers
from keras import mixed_precision

from _data import mnist

policy = mixed_precision.Policy('mixed_float16')
mixed_precision.set_global_policy(policy)

print('Compute dtype: %s' % policy.compute_dtype)
print('Variable dtype: %s' % policy.variable_dtype)

inputs = keras.Input(shape=(784,), name='digits')
num_units = 64
dense1 = layers.Dense(num_units, activation='relu', name='dense_1')
x = dense1(inputs)
dense2 = layers.Dense(num_units, activation='relu', name='dense_2')
x = dense2(x)

print(dense1.dtype_policy)
print('x.dtype: %s' % x.dtype)

# INCORRECT: softmax and model output will be float16, when it should be float32
outputs = layers.Dense(10, activation='softmax', name='predictions')(x)
print('Outputs dtype: %s' % outputs.dtype)

# CORRECT: softmax and model output are float32
x = layers.Dense(10, name='dense_logits')(x)
outputs = layers.Activation('softmax', dtype='float32', name='predictions')(x)
print('Outputs dtype: %s' % outputs.dtype)
assert outputs.dtype == 'float32'

model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(loss='sparse_categorical_crossentropy',
              optimizer=keras.optimizers.RMSprop(),
              metrics=['accuracy'])

(x_train, y_train), (x_test, y_test) = mnist()
x_train = x_train.reshape(-1, 784).astype('float32') / 255
x_test = x_test.reshape(-1, 784).astype('float32') / 255

history = model.fit(x_train, y_train,
                    batch_size=64,
                    epochs=1,
                    validation_split=0.2)
test_scores = model.evaluate(x_test, y_test, verbose=2)
print('Test loss:', test_scores[0])
print('Test accuracy:', test_scores[1])
mixed_precision.set_global_policy('float32')
