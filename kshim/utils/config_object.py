"""`Config`: a dict whose entries read as attributes, that can be frozen (``keras.utils.Config``)."""

import json


class Config:
    """``Config(learning_rate=1e-3, layers=[64, 32])``: ``config.learning_rate`` and ``config["layers"]`` read
    the same entry. ``freeze()`` makes it read-only (assignment then raises ``AttributeError``)."""

    __frozen_attr = "_Config__frozen"

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, self.__frozen_attr, False)

    @property
    def frozen(self):
        return getattr(self, self.__frozen_attr)

    def freeze(self):
        object.__setattr__(self, self.__frozen_attr, True)

    def unfreeze(self):
        object.__setattr__(self, self.__frozen_attr, False)

    def _refuse_if_frozen(self, what):
        if self.frozen:
            raise AttributeError(f"Config: cannot {what}: this Config is frozen. Call `unfreeze()` first.")

    def __getattr__(self, name):
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        raise AttributeError(f"Config has no entry {name!r}. Entries: {sorted(config)}")

    def __setattr__(self, name, value):
        self._refuse_if_frozen(f"set {name!r}")
        self._config[name] = value

    def __delattr__(self, name):
        self._refuse_if_frozen(f"delete {name!r}")
        del self._config[name]

    def __getitem__(self, key):
        return self._config[key]

    def __setitem__(self, key, value):
        self.__setattr__(key, value)

    def __delitem__(self, key):
        self.__delattr__(key)

    def __contains__(self, key):
        return key in self._config

    def __iter__(self):
        return iter(self._config)

    def __len__(self):
        return len(self._config)

    def __repr__(self):
        return f"<Config {self._config!r}>"

    def get(self, key, default=None):
        return self._config.get(key, default)

    def pop(self, *args):
        self._refuse_if_frozen("pop an entry")
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._refuse_if_frozen("update")
        self._config.update(*args, **kwargs)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def as_dict(self):
        return dict(self._config)

    def to_json(self):
        return json.dumps(self._config)
