"""The input-pipeline workload (issue 21, item 5): the CNN of `benchmarks.models` trained from a `PyDataset` whose
``__getitem__`` does per-batch numpy augmentation (random crop from a 2-pixel padding, random horizontal flip, and
box-blur passes calibrated so that one batch costs about one training step), with ``workers=2``.

Rows, in one process per backend, interleaved rounds:
- ``in-memory``: kshim ``fit`` on arrays augmented ahead of time (the same work, done before the clock starts);
- ``PyDataset workers=1``: the batches made in the training thread (no overlap);
- ``PyDataset workers=2``: made in 2 threads ahead of the step (`kshim.trainer.data_adapter`);
- torch only, ``DataLoader(num_workers=2)``: the hand-written torch loop over a torch ``Dataset`` of batches doing
  the same work in 2 worker processes, and the same loop on the arrays augmented ahead of time.
The ratio is samples/s against kshim's in-memory fit (target: PyDataset workers=2 >= 0.9).
"""

import statistics
import time

import numpy as np

from benchmarks import models

NAME = "cnn_28x28"
PAD = 2


def augment(x, index, blur_passes):
    """Crop, flip and blur a batch of NHWC images; the randomness is seeded by the batch index only."""
    rng = np.random.default_rng(index)
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)), mode="reflect")
    dy, dx = rng.integers(0, 2 * PAD + 1, 2)
    out = padded[:, dy:dy + h, dx:dx + w]
    flip = rng.random(n) < 0.5
    out = np.where(flip[:, None, None, None], out[:, :, ::-1], out)
    for _ in range(blur_passes):  # 3x3 box blur, the cost knob
        p = np.pad(out, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        out = sum(p[:, i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0
    return np.ascontiguousarray(out, dtype=np.float32)


def _dataset_class(base):
    class Augmented(base):
        def __init__(self, x, y, batch, blur_passes, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch, self.blur = x, y, batch, blur_passes

        def __len__(self):
            return len(self.x) // self.batch

        def __getitem__(self, i):
            s = slice(i * self.batch, (i + 1) * self.batch)
            return augment(self.x[s], i, self.blur), self.y[s]

    return Augmented


def _calibrate(step_seconds, x):
    """Blur passes that make one batch's augmentation cost about ``step_seconds``."""
    t0 = time.perf_counter()
    augment(x, 0, 4)
    four = time.perf_counter() - t0
    t0 = time.perf_counter()
    augment(x, 0, 0)
    base = time.perf_counter() - t0
    per_pass = max((four - base) / 4, 1e-6)
    return max(0, int(round((step_seconds - base) / per_pass)))


def rows(backend, epochs, repeat):
    import kshim

    batch, n = models.WORKLOADS[NAME]
    x, y = models.data(NAME, n)
    kshim.utils.set_random_seed(0)
    model = models.build(kshim, NAME)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)  # compile and warm up
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    step = (time.perf_counter() - t0) / (n // batch)
    blur = _calibrate(step, x[:batch])
    pre_x = np.concatenate([augment(x[i * batch:(i + 1) * batch], i, blur) for i in range(n // batch)])
    pre_y = y[:len(pre_x)]
    Augmented = _dataset_class(kshim.utils.PyDataset)
    runs = {
        "kshim in-memory": lambda k: model.fit(pre_x, pre_y, batch_size=batch, epochs=k, verbose=0, shuffle=False),
        "kshim PyDataset workers=1": lambda k: model.fit(Augmented(x, y, batch, blur, workers=1), epochs=k,
                                                         verbose=0),
        "kshim PyDataset workers=2": lambda k: model.fit(Augmented(x, y, batch, blur, workers=2), epochs=k,
                                                         verbose=0),
    }
    if backend == "torch":
        runs.update(_torch_runs(x, y, pre_x, pre_y, batch, blur))
    for fit in runs.values():
        fit(1)  # warm up every path (DataLoader workers, replays)
    sps = {k: [] for k in runs}
    for _ in range(repeat):
        for key, fit in runs.items():
            t0 = time.perf_counter()
            fit(epochs)
            sps[key].append(epochs * len(pre_x) / (time.perf_counter() - t0))
    ref = sps["kshim in-memory"]
    return [{"backend": backend, "impl": key, "samples_per_s": statistics.median(v), "blur_passes": blur,
             "step_ms": step * 1e3, "ratio": statistics.median(a / b for a, b in zip(v, ref))}
            for key, v in sps.items()]


def _torch_runs(x, y, pre_x, pre_y, batch, blur):
    import torch

    loop = models.hand("torch", NAME)
    Augmented = _dataset_class(torch.utils.data.Dataset)
    dataset = Augmented(x, y, batch, blur)

    def from_loader(k):
        loader = torch.utils.data.DataLoader(dataset, batch_size=None, shuffle=False, num_workers=2,
                                             persistent_workers=False)
        loop.model.train()
        for _ in range(k):
            for xb, yb in loader:
                xt = xb.permute(0, 3, 1, 2).contiguous().to(loop.device)
                loss = torch.nn.functional.cross_entropy(loop.model(xt), yb.long().to(loop.device))
                loop.opt.zero_grad(set_to_none=True)
                loss.backward()
                loop.opt.step()
        loop.sync()

    return {"hand torch in-memory": lambda k: loop.fit(pre_x, pre_y, batch, k),
            "hand torch DataLoader(num_workers=2)": from_loader}
