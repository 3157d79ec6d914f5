"""`DeviceMesh`: the devices of a distribution arranged in a named grid (as Keras 3 and `jax.sharding.Mesh`)."""

import math

import numpy as np

from kshim.distribution.devices import canonical_device, list_devices
from kshim.common.properties import read_only


def _check_shape(shape):
    ok = isinstance(shape, (tuple, list)) and len(shape) > 0 and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape)
    if not ok:
        raise ValueError("DeviceMesh: `shape` must be a non-empty tuple of positive integers, e.g. (8,) or (4, 2). "
                         f"Received: shape={shape!r}")
    return tuple(int(s) for s in shape)


def _check_axis_names(axis_names, shape):
    names = [axis_names] if isinstance(axis_names, str) else axis_names
    if not isinstance(names, (tuple, list)) or not names or not all(isinstance(a, str) and a for a in names):
        raise ValueError("DeviceMesh: `axis_names` must be a non-empty list of strings, one per axis of `shape`, "
                         f"e.g. ['batch']. Received: axis_names={axis_names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"DeviceMesh: `axis_names` must be distinct. Received: axis_names={list(names)!r}")
    if len(names) != len(shape):
        raise ValueError("DeviceMesh: `shape` and `axis_names` must have the same length (one name per axis). "
                         f"Received: shape={shape}, axis_names={list(names)!r}")
    return list(names)


class DeviceMesh:
    """A grid of devices with named axes.

    Args:
        shape: the grid's shape, e.g. ``(8,)`` for data parallelism over 8 devices. Its product must equal the
            number of devices.
        axis_names: one name per axis, e.g. ``["batch"]``.
        devices: the devices, as strings such as ``"gpu:0"`` (or framework device objects), in grid order.
            Default: `list_devices()`.
    """

    def __init__(self, shape, axis_names, devices=None):
        self._shape = _check_shape(shape)
        self._axis_names = _check_axis_names(axis_names, self._shape)
        if devices is None:
            devices = list_devices()
        flat = [canonical_device("DeviceMesh", d) for d in np.asarray(devices, dtype=object).reshape(-1)]
        if not flat:
            raise ValueError(f"DeviceMesh: `devices` must not be empty. Received: devices={devices!r}")
        repeated = sorted({d for d in flat if flat.count(d) > 1})
        if repeated:
            raise ValueError(f"DeviceMesh: each device may appear once. Received the device(s) {repeated} more "
                             "than once.")
        kinds = sorted({d.split(":")[0] for d in flat})
        if len(kinds) > 1:
            raise ValueError(f"DeviceMesh: all devices must be of one type. Received devices of types {kinds}: "
                             f"{flat}")
        available = list_devices(kinds[0])
        unknown = [d for d in flat if d not in available]
        if unknown:
            raise ValueError(f"DeviceMesh: unknown device(s) {unknown}. Available {kinds[0]} devices: {available}")
        if math.prod(self._shape) != len(flat):
            raise ValueError(f"DeviceMesh: `shape` {self._shape} holds {math.prod(self._shape)} devices, but "
                             f"{len(flat)} devices were given: {flat}. Received: shape={self._shape}")
        grid = np.empty(len(flat), dtype=object)
        grid[:] = flat
        self._devices = grid.reshape(self._shape)

    shape = read_only("_shape")

    @property
    def axis_names(self):
        return list(self._axis_names)

    devices = read_only("_devices", "The device strings, as a numpy array of ``shape``.")

    def __repr__(self):
        return f"<DeviceMesh shape={self._shape}, axis_names={self._axis_names}>"

    __str__ = __repr__
