"""Trains and evaluates a simple MLP on the Reuters newswire topic classification task (Keras 2): the
`Tokenizer.sequences_to_matrix` binary bag of words, `to_categorical`, `Activation` layers.

Source: keras-team/keras (Keras 2.x) examples/reuters_mlp.py
Changed: the data (`_data.imdb()` re-labelled into 46 topics instead of `reuters.load_data(num_words=max_words,
test_split=0.2)`), 5 epochs -> 2.
"""
from __future__ import print_function

import numpy as np
import keras
from keras.models import Sequential
from keras.layers import Dense, Dropout, Activation
from keras.preprocessing.text import Tokenizer

from _data import imdb

max_words = 1000
batch_size = 32
epochs = 2

print('Loading data...')
(x_train, y_train), (x_test, y_test) = imdb(num_words=max_words)
y_train = np.array([s[1] % 46 for s in x_train])  # 46 topics, decided by the first word after the start mark
y_test = np.array([s[1] % 46 for s in x_test])
print(len(x_train), 'train sequences')
print(len(x_test), 'test sequences')

num_classes = np.max(y_train) + 1
print(num_classes, 'classes')

print('Vectorizing sequence data...')
tokenizer = Tokenizer(num_words=max_words)
x_train = tokenizer.sequences_to_matrix(x_train, mode='binary')
x_test = tokenizer.sequences_to_matrix(x_test, mode='binary')
print('x_train shape:', x_train.shape)
print('x_test shape:', x_test.shape)

print('Convert class vector to binary class matrix '
      '(for use with categorical_crossentropy)')
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)
print('y_train shape:', y_train.shape)
print('y_test shape:', y_test.shape)

print('Building model...')
model = Sequential()
model.add(Dense(512, input_shape=(max_words,)))
model.add(Activation('relu'))
model.add(Dropout(0.5))
model.add(Dense(num_classes))
model.add(Activation('softmax'))

model.compile(loss='categorical_crossentropy',
              optimizer='adam',
              metrics=['accuracy'])

history = model.fit(x_train, y_train,
                    batch_size=batch_size,
                    epochs=epochs,
                    verbose=1,
                    validation_split=0.1)
score = model.evaluate(x_test, y_test,
                       batch_size=batch_size, verbose=1)
print('Test score:', score[0])
print('Test accuracy:', score[1])
