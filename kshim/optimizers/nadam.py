"""Nadam (Adam with Nesterov momentum and Dozat's momentum schedule), as Keras 3."""

from kshim import config as _config, ops
from kshim.optimizers.optimizer import Optimizer, check_number


class Nadam(Optimizer):
    """Keras 3's Nadam: momentum ``u_t = beta_1 * (1 - 0.5 * 0.96**t)``, whose running product is one extra
    optimizer variable (after the slots, as in Keras), updated once per step before the variables."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        epsilon = _config.epsilon() if epsilon is None else epsilon  # Keras 2 wrote epsilon=None
        check_number("Nadam", "beta_1", beta_1, low=0, high=1, high_open=True)
        check_number("Nadam", "beta_2", beta_2, low=0, high=1, high_open=True)
        check_number("Nadam", "epsilon", epsilon, low=0)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        dtype = var_list[0].dtype if var_list else _config.floatx()
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        self._u_product = self.add_variable((), initializer=1.0, dtype=dtype, name="u_product")

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        u = self._u_product
        decay_power = ops.power(0.96, self._local_step(u.dtype))
        u.assign(ops.multiply(ops.multiply(u.value, self.beta_1), ops.subtract(1.0, ops.multiply(0.5, decay_power))))
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def _compute_step_constants(self, learning_rate, dtype):
        lr = ops.cast(learning_rate, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        decay = ops.cast(0.96, dtype)
        local_step = self._local_step(dtype)
        u_t = ops.multiply(beta_1, ops.subtract(1.0, ops.multiply(0.5, ops.power(decay, local_step))))
        u_t_1 = ops.multiply(beta_1, ops.subtract(1.0, ops.multiply(0.5, ops.power(decay, self._local_step(dtype, 2)))))
        u_product_t = ops.cast(self._u_product.value, dtype)
        u_product_t_1 = ops.multiply(u_product_t, u_t_1)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), local_step)
        # m_hat = c1 * m + c2 * g and v_hat = v / (1 - beta_2**t), with the step's scalars folded once.
        c1 = ops.divide(u_t_1, ops.subtract(1, u_product_t_1))
        c2 = ops.divide(ops.subtract(1, u_t), ops.subtract(1, u_product_t))
        return lr, c1, c2, ops.subtract(1, beta_2_power)

    def update_step(self, gradient, variable, learning_rate):
        lr, c1, c2, one_minus_beta_2_power = self._step_constants(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        m.assign(ops.add(m.value, ops.multiply(ops.subtract(gradient, m.value), 1 - self.beta_1)))
        v.assign(ops.add(v.value, ops.multiply(ops.subtract(ops.square(gradient), v.value), 1 - self.beta_2)))
        m_hat = ops.add(ops.multiply(c1, m.value), ops.multiply(c2, gradient))
        v_hat = ops.divide(v.value, one_minus_beta_2_power)
        update = ops.divide(ops.multiply(m_hat, lr), ops.add(ops.sqrt(v_hat), self.epsilon))
        variable.assign(ops.subtract(variable.value, update))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
