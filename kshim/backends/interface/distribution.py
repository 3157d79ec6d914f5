"""The contract's distribution family: the backend half of `kshim.distribution`, documented once.

Each backend has a module ``kshim.backends.<backend>.distribution`` with these names. `kshim.distribution` (the
Keras-shaped frontend) is the only caller; the trainer reaches the engine through ``kshim.distribution.hooks``.

Devices are strings ``"<type>:<id>"`` with type "cpu", "gpu" or "tpu" (Keras's spelling), e.g. "gpu:1".

Module functions
----------------
``list_devices(device_type=None)``
    The devices a data-parallel job can use, as strings, all of one type (the default type when None: gpu/tpu if
    present, else cpu). In a multi-process job they are the job's global devices. A known type with no devices
    gives ``[]``.
``canonical_device(device)``
    ``device`` (a string, or the framework's own device object) as a device string, or a ValueError naming it.
``initialize(job_addresses, num_processes, process_id, timeout)``
    Join a multi-process job. ``job_addresses`` is "host:port[,host:port...]" (the first entry is the coordinator)
    or None for the framework's own environment variables; ``timeout`` is in seconds: how long a collective (or
    the start-up rendezvous) waits for a peer before failing with a clear error.
``is_initialized()``, ``process_id()``, ``num_processes()``
    Whether a multi-process job is running; this process's index (0 is the chief, which prints and writes
    checkpoints); the number of processes. Without a job: False, 0, 1.
``broadcast_seed(seed)``
    Process 0's integer ``seed``, on every process (so that unseeded processes shuffle alike).
``DataParallelEngine(devices, mesh_shape, axis_names, batch_axis)``
    The engine of one `DataParallel` distribution (``devices``: device strings in mesh order).

The engine
----------
``num_replicas``
    How many ways a global batch is split.
``splits_loss``
    True when each process computes the loss on its own shard (torch), so only mean reductions are exact; False
    when the compiled step sees the global batch (jax sharding).
``put_batch(leaf)``
    One batch element (a numpy array or backend tensor, float64 already cast) placed for the step: this process's
    shard (torch) or a mesh-sharded global array (jax). A batch that ``num_replicas`` does not divide is placed
    whole on every replica (exact, not split).
``put_variables(values)``
    The model's values made identical and placed on every replica (jax: replicated on the mesh; torch: process
    0's values broadcast). Called once at the start of each ``fit``.
``sync``
    None, or an object whose ``train(grads, non_trainable, new_non_trainable, metric_values, new_metric_values)``
    returns ``(grads, new_non_trainable, new_metric_values)`` made global, and ``test(metric_values,
    new_metric_values)`` returns the global ``new_metric_values``. Called inside the compiled steps.
``gather``
    None, or a function of a predict step's outputs returning the outputs for the whole global batch.
"""
