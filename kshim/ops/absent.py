"""Keras 3 ``keras.ops`` names kshim does not have (yet), each with the reason: ``kshim.ops.<name>`` raises an
AttributeError that says so, never something else silently. Each namespace module installs `module_getattr`.
Every keras.ops name is built now, so the table is empty; the mechanism stays for the next Keras release."""

ABSENT = {}


def module_getattr(module_name):
    """A module ``__getattr__`` for ``module_name`` that explains the `ABSENT` names."""

    def __getattr__(name):
        if name in ABSENT:
            keras_path = module_name.replace("kshim", "keras", 1)
            raise AttributeError(f"{module_name}.{name}: Keras 3 has `{keras_path}.{name}`, kshim does not: "
                                 f"{ABSENT[name]}.")
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__
