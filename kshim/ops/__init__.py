"""kshim.ops: numpy-like and neural-network functions, shaped like ``keras.ops``.

Every primitive is the backend's own function, bound once at import (one hop, no wrappers). Composite ops are
written here, once, on top of the primitives. See `kshim.backends.interface` for the documented semantics.
"""

from kshim.ops.core import *  # noqa: F401,F403
from kshim.ops.numpy import *  # noqa: F401,F403
from kshim.ops.nn import *  # noqa: F401,F403
from kshim.ops.convolution import *  # noqa: F401,F403
from kshim.ops.rnn import *  # noqa: F401,F403
from kshim.ops import image  # noqa: F401,E402  (kshim.ops.image, as keras.ops.image)
