"""Trains a simple convnet on the MNIST dataset (Keras 2), with the Keras 2 spellings of its era: the
`K.image_data_format()` branch, `Dense(np.int64)` sizes, `fit_generator`, `predict_classes` and `model.save('.h5')`.

Source: keras-team/keras (Keras 2.x) examples/mnist_cnn.py, plus the generator/predict_classes/h5 lines of
keras-team/keras 2.x docs (FAQ "How can I save a Keras model?", Sequential.predict_classes).
Changed: the data (`_data.mnist()` instead of `mnist.load_data()`), fewer epochs.
"""

from __future__ import print_function

import numpy as np
import keras
from keras.models import Sequential, load_model
from keras.layers import Dense, Dropout, Flatten
from keras.layers import Conv2D, MaxPooling2D
from keras import backend as K

from _data import mnist, size

batch_size = 128
num_classes = np.int64(10)
epochs = size(2, 1)

# input image dimensions
img_rows, img_cols = 28, 28

# the data, split between train and test sets
(x_train, y_train), (x_test, y_test) = mnist()

if K.image_data_format() == 'channels_first':
    x_train = x_train.reshape(x_train.shape[0], 1, img_rows, img_cols)
    x_test = x_test.reshape(x_test.shape[0], 1, img_rows, img_cols)
    input_shape = (1, img_rows, img_cols)
else:
    x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
    x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
    input_shape = (img_rows, img_cols, 1)

x_train = x_train.astype('float32')
x_test = x_test.astype('float32')
x_train /= 255
x_test /= 255
print('x_train shape:', x_train.shape)

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Conv2D(32, kernel_size=(3, 3),
                 activation='relu',
                 input_shape=input_shape))
model.add(Conv2D(64, (3, 3), activation='relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(num_classes, activation='softmax'))

model.compile(loss=keras.losses.categorical_crossentropy,
              optimizer=keras.optimizers.Adadelta(learning_rate=1.0),
              metrics=['accuracy'])


def generator(x, y, batch_size):
    while True:
        for i in range(0, len(x) - batch_size + 1, batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]


model.fit_generator(generator(x_train, y_train, batch_size),
                    steps_per_epoch=len(x_train) // batch_size,
                    epochs=epochs,
                    verbose=1,
                    validation_data=(x_test, y_test))
score = model.evaluate_generator(generator(x_test, y_test, 32), steps=len(x_test) // 32)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
classes = model.predict_classes(x_test[:10])
print('Predicted classes:', classes)
model.save('my_model.h5')  # creates a HDF5 file 'my_model.h5'
del model  # deletes the existing model
model = load_model('my_model.h5')
assert (model.predict(x_test[:10]).argmax(-1) == classes).all()
