"""kshim.datasets: Keras's small datasets, read from Keras's cache files (``$KERAS_HOME/datasets``, default
``~/.keras/datasets``) and downloaded with `kshim.utils.get_file` when online."""

from kshim.datasets import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,
                            reuters)

__all__ = ["boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist",
           "reuters"]
