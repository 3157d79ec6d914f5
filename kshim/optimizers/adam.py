"""Adam (with the AMSGrad variant), as Keras 3."""

from kshim import config as _config, ops
from kshim.ops import foreach
from kshim.optimizers import fused_update
from kshim.optimizers.optimizer import Optimizer, check_number


class Adam(Optimizer):
    """``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``w -= m * lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) / (sqrt(v) + epsilon)`` (Keras's epsilon-hat form).
    ``amsgrad`` uses the running maximum of ``v``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        epsilon = _config.epsilon() if epsilon is None else epsilon  # Keras 2 wrote epsilon=None
        cls_name = type(self).__name__
        check_number(cls_name, "beta_1", beta_1, low=0, high=1, high_open=True)
        check_number(cls_name, "beta_2", beta_2, low=0, high=1, high_open=True)
        check_number(cls_name, "epsilon", epsilon, low=0)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = bool(amsgrad)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _compute_step_constants(self, learning_rate, dtype):
        lr = ops.cast(learning_rate, dtype)
        step = self._local_step(dtype)
        # A Python float base is weak: it is rounded to ``dtype`` first, so these are the same bits as
        # ``power(cast(beta, dtype), step)`` without converting the constant to a tensor on every step.
        beta_1_power = ops.power(float(self.beta_1), step)
        beta_2_power = ops.power(float(self.beta_2), step)
        alpha = ops.divide(ops.multiply(lr, ops.sqrt(ops.subtract(1, beta_2_power))), ops.subtract(1, beta_1_power))
        return (alpha,)

    def update_step(self, gradient, variable, learning_rate):
        (alpha,) = self._step_constants(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        m.assign(ops.add(m.value, ops.multiply(ops.subtract(gradient, m.value), 1 - self.beta_1)))
        v.assign(ops.add(v.value, ops.multiply(ops.subtract(ops.square(gradient), v.value), 1 - self.beta_2)))
        v_used = v.value
        if self.amsgrad:
            v_hat = self._velocity_hats[i]
            v_used = v_hat.assign(ops.maximum(v_hat.value, v_used))
        update = ops.divide(ops.multiply(m.value, alpha), ops.add(ops.sqrt(v_used), self.epsilon))
        variable.assign(ops.subtract(variable.value, update))

    def _update_all(self, grads, variables, learning_rate):
        """`update_step` for every variable at once, with fused list ops (the same numbers, bit for bit)."""
        dtype = variables[0].dtype
        (alpha,) = self._step_constants(learning_rate, dtype)
        c1, c2, epsilon, amsgrad = 1 - self.beta_1, 1 - self.beta_2, self.epsilon, self.amsgrad

        def update(inplace, w, m, v, *rest):  # rest: (v_hat, g) with amsgrad, else (g,)
            g = rest[-1]
            m = foreach.add(m, foreach.multiply(foreach.subtract(g, m), c1, inplace=True), inplace=inplace)
            g2 = foreach.subtract(foreach.multiply(g, g), v, inplace=True)
            v = foreach.add(v, foreach.multiply(g2, c2, inplace=True), inplace=inplace)
            v_used = foreach.maximum(rest[0], v, inplace=inplace) if amsgrad else v
            denominator = foreach.add(foreach.sqrt(v_used), epsilon, inplace=True)
            step = foreach.divide(foreach.multiply(m, alpha), denominator, inplace=True)
            return (foreach.subtract(w, step, inplace=inplace), m, v) + ((v_used,) if amsgrad else ())

        slots = [variables, fused_update.slots(self, self._momentums, variables), fused_update.slots(self, self._velocities, variables)]
        if amsgrad:
            slots.append(fused_update.slots(self, self._velocity_hats, variables))
        fused_update.run(self, update, slots, grads, dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
