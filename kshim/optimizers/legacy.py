"""``keras.optimizers.legacy``: tf.keras 2.11+ kept the pre-2.11 optimizers here. kshim has one implementation
of each optimizer (Keras 3's numbers); these names point at it, so Keras 2 code that imports them runs."""

from kshim.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, Ftrl, Nadam, Optimizer, RMSprop  # noqa: F401

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl"]
