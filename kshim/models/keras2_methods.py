"""The Keras 2 training spellings kshim keeps (Keras 3 removed them): each works as Keras 2's did and warns with a
DeprecationWarning that says what to write instead.

``fit_generator``/``evaluate_generator``/``predict_generator`` call ``fit``/``evaluate``/``predict``; their queue
arguments (``max_queue_size``, ``workers``, ``use_multiprocessing``) only tuned Keras 2's prefetching threads and
have no effect. ``Sequential.predict_classes``/``predict_proba`` live with `Sequential`.
"""

import warnings


def deprecated(old, new):
    warnings.warn(f"`{old}` is a Keras 2 method, removed in Keras 3; write `{new}` instead.", DeprecationWarning,
                  stacklevel=3)


class Keras2Methods:
    """Mixed into `Model`."""

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        deprecated("model.fit_generator(generator, ...)", "model.fit(generator, ...)")
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight, shuffle=shuffle,
                        initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        deprecated("model.evaluate_generator(generator, ...)", "model.evaluate(generator, ...)")
        return self.evaluate(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        deprecated("model.predict_generator(generator, ...)", "model.predict(generator, ...)")
        return self.predict(generator, steps=steps, callbacks=callbacks, verbose=verbose)
