"""Custom-training workloads written once against the Keras 3 API (``keras`` is a parameter), for
tests/test_custom_train_step.py: the test runs each on kshim, then runs this file as a script in a subprocess with
real Keras 3 on the same backend (``KERAS_BACKEND``), from kshim's initial weights, and compares the results.

    python custom_steps.py FOLDER NAME...    # with KERAS_BACKEND set: FOLDER/NAME.init.npz -> FOLDER/NAME.out.npz

Each workload is ``fn(keras, backend, init=None) -> (initial weights, results)``: a list of arrays and a dict of
arrays. Steps that follow a backend's contract (jax stateless, torch stateful) are written twice, as the Keras 3
guides write them.
"""

import sys

import numpy as np

EPS = np.linspace(-1.0, 1.0, 3).astype("float32")  # the VAE's "noise", fixed so both libraries see the same


def _data(n=48, d=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (np.argmax(x[:, :classes] + 0.3 * x[:, classes:2 * classes], axis=1)).astype("int32")
    return x, y


def _set(models, init):
    weights = []
    for m in models:
        n = len(m.weights)
        if init is not None:
            m.set_weights(init[:n])
            init = init[n:]
        weights += [np.asarray(w) for w in m.get_weights()]
    return weights


def _history(h):
    return {f"history_{k}": np.asarray(v, dtype="float64") for k, v in h.history.items()}


def _weights(prefix, model):
    return {f"{prefix}{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}


# -- knowledge distillation: only compute_loss is overridden ----------------------------------------------------
def distill(keras, backend, init=None):
    ops = keras.ops
    x, y = _data()

    class Distiller(keras.Model):
        def __init__(self, student, teacher):
            super().__init__()
            self.teacher = teacher
            self.student = student

        def compile(self, optimizer, metrics, student_loss_fn, distillation_loss_fn, alpha=0.1, temperature=3):
            super().compile(optimizer=optimizer, metrics=metrics)
            self.student_loss_fn = student_loss_fn
            self.distillation_loss_fn = distillation_loss_fn
            self.alpha = alpha
            self.temperature = temperature

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
            teacher_pred = self.teacher(x, training=False)
            student_loss = self.student_loss_fn(y, y_pred)
            distillation_loss = self.distillation_loss_fn(
                ops.softmax(teacher_pred / self.temperature, axis=1),
                ops.softmax(y_pred / self.temperature, axis=1),
            ) * (self.temperature ** 2)
            return self.alpha * student_loss + (1 - self.alpha) * distillation_loss

        def call(self, x):
            return self.student(x)

    teacher = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                keras.layers.Dense(3)])
    student = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6, activation="relu"), keras.layers.Dense(3)])
    teacher.trainable = False
    weights = _set([teacher, student], init)
    distiller = Distiller(student=student, teacher=teacher)
    distiller.compile(optimizer=keras.optimizers.SGD(0.2), metrics=[keras.metrics.SparseCategoricalAccuracy()],
                      student_loss_fn=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      distillation_loss_fn=keras.losses.KLDivergence(), alpha=0.1, temperature=3)
    h = distiller.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    out = _history(h)
    out.update(_weights("student", student))
    out.update(_weights("teacher", teacher))
    ev = distiller.evaluate(x, y, verbose=0, return_dict=True)
    out.update({f"eval_{k}": np.asarray(v) for k, v in ev.items()})
    return weights, out


# -- a VAE: add_loss (KL) in call, a compiled loss, and a KL tracker updated in compute_loss ---------------------
def vae(keras, backend, init=None):
    ops = keras.ops
    x, _ = _data()

    class VAE(keras.Model):
        def __init__(self):
            super().__init__()
            self.enc = keras.layers.Dense(6)
            self.dec = keras.layers.Dense(8)
            self.kl_tracker = keras.metrics.Mean(name="kl")

        def _stats(self, x):
            h = self.enc(x)
            mean, logvar = h[:, :3], h[:, 3:]
            kl = -0.5 * ops.mean(ops.sum(1.0 + logvar - ops.square(mean) - ops.exp(logvar), axis=1))
            return mean, logvar, kl

        def call(self, x):
            mean, logvar, kl = self._stats(x)
            self.add_loss(kl)
            return self.dec(mean + ops.multiply(ops.exp(0.5 * logvar), EPS))

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
            if self.losses:  # Keras 3 also calls compute_loss once symbolically, before any call added a loss
                self.kl_tracker.update_state(self.losses[0])
            return loss

    model = VAE()
    model(x[:2])
    weights = _set([model], init)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    h = model.fit(x, x, batch_size=16, epochs=3, shuffle=False, verbose=0)
    out = _history(h)
    out.update(_weights("w", model))
    return weights, out


# -- a custom test_step ------------------------------------------------------------------------------------------
def test_step(keras, backend, init=None):
    ops = keras.ops
    x, y = _data()
    y = (x[:, :1] - x[:, 1:2]).astype("float32")

    if backend == "jax":
        class CustomModel(keras.Model):
            def test_step(self, state, data):
                x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
                trainable_variables, non_trainable_variables, metrics_variables = state
                y_pred, non_trainable_variables = self.stateless_call(
                    trainable_variables, non_trainable_variables, x, training=False)
                loss, (trainable_variables, non_trainable_variables, metrics_variables) = (
                    self.stateless_compute_loss(trainable_variables, non_trainable_variables, metrics_variables,
                                                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                                training=False))
                new_metrics_vars = []
                logs = {}
                for metric in self.metrics:
                    this = metrics_variables[len(new_metrics_vars):len(new_metrics_vars) + len(metric.variables)]
                    if metric.name == "loss":
                        this = metric.stateless_update_state(this, loss, sample_weight=sample_weight)
                    else:
                        this = metric.stateless_update_state(this, y, y_pred, sample_weight=sample_weight)
                    logs[metric.name] = metric.stateless_result(this)
                    new_metrics_vars += this
                logs["max_abs_error"] = ops.max(ops.abs(y - y_pred))
                return logs, (trainable_variables, non_trainable_variables, new_metrics_vars)
    else:
        class CustomModel(keras.Model):
            def test_step(self, data):
                x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
                y_pred = self(x, training=False)
                loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
                for metric in self.metrics:
                    if metric.name == "loss":
                        metric.update_state(loss)
                    else:
                        metric.update_state(y, y_pred)
                logs = {m.name: m.result() for m in self.metrics}
                logs["max_abs_error"] = ops.max(ops.abs(y - y_pred))
                return logs

    inputs = keras.Input(shape=(8,))
    model = CustomModel(inputs, keras.layers.Dense(1)(inputs))
    weights = _set([model], init)
    model.compile(loss="mse", metrics=["mae"])
    ev = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    return weights, {f"eval_{k}": np.asarray(v) for k, v in ev.items()}


# -- a GAN: separate generator and discriminator optimizers in train_step (stateful backends) --------------------
def gan(keras, backend, init=None):
    ops = keras.ops
    x, _ = _data()
    latent = 4
    if backend != "torch":
        raise ValueError("gan: the two-optimizer train_step is written for the stateful (torch) contract")
    import torch

    class GAN(keras.Model):
        def __init__(self, discriminator, generator):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
            self.step = 0

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def train_step(self, real):
            if isinstance(real, tuple):
                real = real[0]
            batch = ops.shape(real)[0]
            noise = ops.convert_to_tensor(
                np.random.default_rng(self.step).normal(size=(batch, latent)).astype("float32"))
            self.step += 1
            fake = self.generator(noise)
            combined = ops.concatenate([fake, real], axis=0)
            labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
            self.zero_grad()
            d_loss = self.loss_fn(labels, self.discriminator(combined))
            d_loss.backward()
            grads = [v.value.grad for v in self.discriminator.trainable_weights]
            with torch.no_grad():
                self.d_optimizer.apply(grads, self.discriminator.trainable_weights)
            misleading = ops.zeros((batch, 1))
            self.zero_grad()
            g_loss = self.loss_fn(misleading, self.discriminator(self.generator(noise)))
            g_loss.backward()
            grads = [v.value.grad for v in self.generator.trainable_weights]
            with torch.no_grad():
                self.g_optimizer.apply(grads, self.generator.trainable_weights)
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    disc = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    gen = keras.Sequential([keras.Input((latent,)), keras.layers.Dense(8, activation="tanh")])
    weights = _set([disc, gen], init)
    model = GAN(discriminator=disc, generator=gen)
    model.built = True  # it has no call(); Keras 3 would try to build it symbolically
    model.compile(d_optimizer=keras.optimizers.Adam(0.01), g_optimizer=keras.optimizers.SGD(0.05),
                  loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    h = model.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0)
    out = _history(h)
    out.update(_weights("disc", disc))
    out.update(_weights("gen", gen))
    return weights, out


# -- a jax custom loop: stateless_call, jax.value_and_grad, optimizer.stateless_apply, jax.jit --------------------
def jax_loop(keras, backend, init=None):
    import jax

    x, y = _data()
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    weights = _set([model], init)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)
    optimizer.build(model.trainable_variables)

    def compute_loss_and_updates(trainable_variables, non_trainable_variables, x, y):
        y_pred, non_trainable_variables = model.stateless_call(trainable_variables, non_trainable_variables, x)
        return loss_fn(y, y_pred), non_trainable_variables

    grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

    @jax.jit
    def train_step(state, data):
        trainable_variables, non_trainable_variables, optimizer_variables = state
        x, y = data
        (loss, non_trainable_variables), grads = grad_fn(trainable_variables, non_trainable_variables, x, y)
        trainable_variables, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        return loss, (trainable_variables, non_trainable_variables, optimizer_variables)

    # Keras 3.15's guide passes the Variables themselves; jax 0.10 refuses Keras's (``__jax_array__`` during
    # abstractification), so the comparison passes their values. kshim takes both (test_custom_train_step).
    state = tuple([v.value for v in vs] for vs in (model.trainable_variables, model.non_trainable_variables,
                                                   optimizer.variables))
    losses = []
    for epoch in range(2):
        for i in range(0, len(x), 16):
            loss, state = train_step(state, (x[i:i + 16], y[i:i + 16]))
            losses.append(float(loss))
    trainable_variables, non_trainable_variables, optimizer_variables = state
    for variable, value in zip(model.trainable_variables, trainable_variables):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable_variables):
        variable.assign(value)
    out = {"losses": np.asarray(losses)}
    out.update(_weights("w", model))
    return weights, out


# -- the JAX guide's train_step: compute_loss_and_updates over stateless_compute_loss, a loop over self.metrics ----
def jax_train_step(keras, backend, init=None):
    import jax

    x, y = _data()
    y = (x[:, :1] + 0.5 * x[:, 2:3]).astype("float32")

    class CustomModel(keras.Model):
        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, metrics_variables, x, y,
                                     sample_weight, training=False):
            y_pred, non_trainable_variables = self.stateless_call(trainable_variables, non_trainable_variables, x,
                                                                  training=training)
            loss, (trainable_variables, non_trainable_variables, metrics_variables) = self.stateless_compute_loss(
                trainable_variables, non_trainable_variables, metrics_variables, x=x, y=y, y_pred=y_pred,
                sample_weight=sample_weight, training=training)
            return loss, (y_pred, non_trainable_variables, metrics_variables)

        def train_step(self, state, data):
            trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables, metrics_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, metrics_variables, x, y, sample_weight, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            new_metrics_vars = []
            logs = {}
            for metric in self.metrics:
                start = len(new_metrics_vars)
                this = metrics_variables[start:start + len(metric.variables)]
                if metric.name == "loss":
                    this = metric.stateless_update_state(this, loss, sample_weight=sample_weight)
                else:
                    this = metric.stateless_update_state(this, y, y_pred, sample_weight=sample_weight)
                logs[metric.name] = metric.stateless_result(this)
                new_metrics_vars += this
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables, new_metrics_vars)

    inputs = keras.Input(shape=(8,))
    model = CustomModel(inputs, keras.layers.Dense(1)(inputs))
    weights = _set([model], init)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    out = _history(h)
    out.update(_weights("w", model))
    return weights, out


# -- the PyTorch guide's train_step: zero_grad, compute_loss, backward, optimizer.apply, a loop over self.metrics ---
def torch_train_step(keras, backend, init=None):
    import torch

    x, y = _data()
    y = (x[:, :1] + 0.5 * x[:, 2:3]).astype("float32")

    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = keras.Input(shape=(8,))
    model = CustomModel(inputs, keras.layers.Dense(1)(inputs))
    weights = _set([model], init)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    out = _history(h)
    out.update(_weights("w", model))
    return weights, out


# -- a GAN on jax: two optimizers, each with its own state, in a jitted loop (stateless_call, stateless_apply) -----
def gan_jax_loop(keras, backend, init=None):
    import jax

    x, _ = _data()
    latent = 4
    disc = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    gen = keras.Sequential([keras.Input((latent,)), keras.layers.Dense(8, activation="tanh")])
    weights = _set([disc, gen], init)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    d_optimizer, g_optimizer = keras.optimizers.Adam(0.01), keras.optimizers.SGD(0.05)
    d_optimizer.build(disc.trainable_variables)
    g_optimizer.build(gen.trainable_variables)

    def d_loss_fn(d_vars, g_vars, real, noise):
        fake, _ = gen.stateless_call(g_vars, [], noise)
        pred, _ = disc.stateless_call(d_vars, [], keras.ops.concatenate([fake, real], axis=0))
        batch = real.shape[0]
        labels = keras.ops.concatenate([keras.ops.ones((batch, 1)), keras.ops.zeros((batch, 1))], axis=0)
        return loss_fn(labels, pred)

    def g_loss_fn(g_vars, d_vars, noise):
        fake, _ = gen.stateless_call(g_vars, [], noise)
        pred, _ = disc.stateless_call(d_vars, [], fake)
        return loss_fn(keras.ops.zeros((noise.shape[0], 1)), pred)

    @jax.jit
    def train_step(state, real, noise):
        d_vars, g_vars, d_opt, g_opt = state
        d_loss, grads = jax.value_and_grad(d_loss_fn)(d_vars, g_vars, real, noise)
        d_vars, d_opt = d_optimizer.stateless_apply(d_opt, grads, d_vars)
        g_loss, grads = jax.value_and_grad(g_loss_fn)(g_vars, d_vars, noise)
        g_vars, g_opt = g_optimizer.stateless_apply(g_opt, grads, g_vars)
        return (d_loss, g_loss), (d_vars, g_vars, d_opt, g_opt)

    state = tuple([v.value for v in vs] for vs in (disc.trainable_variables, gen.trainable_variables,
                                                   d_optimizer.variables, g_optimizer.variables))
    d_losses, g_losses = [], []
    for step, i in enumerate(list(range(0, len(x), 16)) * 2):
        noise = np.random.default_rng(step).normal(size=(16, latent)).astype("float32")
        (d_loss, g_loss), state = train_step(state, x[i:i + 16], noise)
        d_losses.append(float(d_loss))
        g_losses.append(float(g_loss))
    for model, values in ((disc, state[0]), (gen, state[1])):
        for variable, value in zip(model.trainable_variables, values):
            variable.assign(value)
    out = {"d_losses": np.asarray(d_losses), "g_losses": np.asarray(g_losses)}
    out.update(_weights("disc", disc))
    out.update(_weights("gen", gen))
    return weights, out


# -- a torch loop: torch.optim.Adam over model.parameters(), loss.backward(), opt.step() --------------------------
def torch_optim_loop(keras, backend, init=None):
    import torch

    x, y = _data()
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    weights = _set([model], init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    losses = []
    for epoch in range(2):
        for i in range(0, len(x), 16):
            logits = model(torch.from_numpy(x[i:i + 16]))
            loss = loss_fn(logits, torch.from_numpy(y[i:i + 16]).long())
            model.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    out = {"losses": np.asarray(losses)}
    out.update(_weights("w", model))
    return weights, out


def _reloaded_predictions(keras, make_model, model, x):
    """Save ``model``'s weights (``.weights.h5``), load them into a fresh ``make_model()``, predict ``x``."""
    import os
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "wrapped.weights.h5")
    model.save_weights(path)
    again = make_model()
    again.load_weights(path)
    return np.asarray(again.predict(x, verbose=0))


# -- TorchModuleWrapper: an nn.Module trained by fit, saved and loaded ---------------------------------------------
def torch_module_wrapper(keras, backend, init=None):
    import torch

    x, y = _data()
    y = (x[:, :1] - 0.5 * x[:, 1:2]).astype("float32")

    def make_model():
        net = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
        return keras.Sequential([keras.Input((8,)), keras.layers.TorchModuleWrapper(net)])

    model = make_model()
    weights = _set([model], init)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    out = _history(h)
    out.update(_weights("w", model))
    out["reloaded_predictions"] = _reloaded_predictions(keras, make_model, model, x)
    return weights, out


# -- JaxLayer: a (params, inputs) function trained by fit, saved and loaded ----------------------------------------
def jax_layer(keras, backend, init=None):
    import jax.numpy as jnp

    x, y = _data()
    y = (x[:, :1] - 0.5 * x[:, 1:2]).astype("float32")
    rng = np.random.default_rng(3)
    params = {"hidden": {"w": rng.normal(size=(8, 6)).astype("float32") * 0.3, "b": np.zeros(6, "float32")},
              "out": {"w": rng.normal(size=(6, 1)).astype("float32") * 0.3, "b": np.zeros(1, "float32")}}

    def call_fn(params, inputs):
        h = jnp.tanh(inputs @ params["hidden"]["w"] + params["hidden"]["b"])
        return h @ params["out"]["w"] + params["out"]["b"]

    def make_model():
        return keras.Sequential([keras.Input((8,)), keras.layers.JaxLayer(call_fn, params=params)])

    model = make_model()
    weights = _set([model], init)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    out = _history(h)
    out.update(_weights("w", model))
    out["reloaded_predictions"] = _reloaded_predictions(keras, make_model, model, x)
    return weights, out


WORKLOADS = {"distill": distill, "vae": vae, "test_step": test_step, "gan": gan, "jax_loop": jax_loop,
             "jax_train_step": jax_train_step, "torch_train_step": torch_train_step, "gan_jax_loop": gan_jax_loop,
             "torch_optim_loop": torch_optim_loop, "torch_module_wrapper": torch_module_wrapper,
             "jax_layer": jax_layer}


# the backend a workload is written for (the others run on both)
ONLY_ON = {"gan": "torch", "torch_train_step": "torch", "torch_optim_loop": "torch", "torch_module_wrapper": "torch",
           "jax_loop": "jax", "jax_train_step": "jax", "gan_jax_loop": "jax", "jax_layer": "jax"}


if __name__ == "__main__":
    import os
    import traceback

    import keras

    folder, names = sys.argv[1], sys.argv[2:]  # reads FOLDER/NAME.init.npz, writes FOLDER/NAME.out.npz
    for name in names:
        with np.load(os.path.join(folder, f"{name}.init.npz")) as f:
            init = [f[f"w{i}"] for i in range(len(f.files))]
        try:
            _, results = WORKLOADS[name](keras, os.environ["KERAS_BACKEND"], init)
        except Exception:  # noqa: BLE001 - reported to the test of this workload, the others still run
            with open(os.path.join(folder, f"{name}.error.txt"), "w") as f:
                f.write(traceback.format_exc())
            continue
        np.savez(os.path.join(folder, f"{name}.out.npz"), **results)
