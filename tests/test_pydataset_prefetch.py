"""`PyDataset` with ``workers`` > 1: batches are fetched ahead in threads (`kshim.trainer.data_adapter`), come out
in index order, and a seeded fit gives the same bits as with one worker."""

import threading

import numpy as np
import pytest

import kshim
from kshim import layers


class Augmented(kshim.utils.PyDataset):
    """Per-batch numpy work seeded by the batch index (random flip and noise), as a real pipeline's."""

    def __init__(self, n_batches=6, **kwargs):
        super().__init__(**kwargs)
        self.n_batches = n_batches
        self.threads = set()

    def __len__(self):
        return self.n_batches

    def __getitem__(self, index):
        self.threads.add(threading.current_thread().name)
        rng = np.random.default_rng(index)
        x = rng.random((8, 5), dtype=np.float32)
        x = np.where(rng.random((8, 1)) < 0.5, x[:, ::-1], x) + rng.normal(0, 0.01, (8, 5)).astype("float32")
        return x.astype("float32"), (x.sum(1, keepdims=True) + index).astype("float32")


def _fit(workers):
    kshim.utils.set_random_seed(11)
    model = kshim.Sequential([kshim.Input((5,)), layers.Dense(8, activation="relu"), layers.Dropout(0.2),
                              layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    data = Augmented(workers=workers, max_queue_size=3)
    history = model.fit(data, epochs=2, verbose=0).history
    return model, history, data


@pytest.fixture(scope="module")
def runs():
    return {w: _fit(w) for w in (1, 3)}


def test_seeded_fit_is_bit_identical_with_workers(runs):
    m1, h1, d1 = runs[1]
    m3, h3, d3 = runs[3]
    assert h1 == h3
    for a, b in zip(m1.get_weights(), m3.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all(t.startswith("kshim-pydataset") for t in d3.threads)  # the batches really came from the workers
    assert not any(t.startswith("kshim-pydataset") for t in d1.threads)


def test_predict_keeps_the_batch_order(runs):
    model = runs[1][0]
    one = model.predict(Augmented(workers=1), verbose=0)
    many = model.predict(Augmented(workers=4, max_queue_size=2), verbose=0)
    np.testing.assert_array_equal(one, many)
    x = np.concatenate([Augmented()[i][0] for i in range(6)])
    np.testing.assert_allclose(one, model.predict(x, batch_size=8, verbose=0), rtol=1e-6, atol=1e-6)


def test_a_worker_error_reaches_the_caller():
    class Broken(Augmented):
        def __getitem__(self, index):
            if index == 4:
                raise RuntimeError("batch 4 is broken")
            return super().__getitem__(index)

    model = kshim.Sequential([kshim.Input((5,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(RuntimeError, match="batch 4 is broken"):
        model.fit(Broken(workers=2), epochs=1, verbose=0)
