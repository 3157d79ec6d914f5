"""kshim.ops: numpy-like and neural-network functions, shaped like ``keras.ops``.

Every primitive is the backend's own function, bound once at import (one hop, no wrappers). Composite ops are
written here, once, on top of the primitives. See `kshim.backends.interface` for the documented semantics.
"""

from kshim.ops import absent as _absent  # noqa: E402
from kshim.ops.core import *  # noqa: F401,F403
from kshim.ops.numpy import *  # noqa: F401,F403
from kshim.ops.elementwise import *  # noqa: F401,F403
from kshim.ops.arrays import *  # noqa: F401,F403
from kshim.ops.counting import *  # noqa: F401,F403
from kshim.ops.nn import *  # noqa: F401,F403
from kshim.ops.normalization import *  # noqa: F401,F403
from kshim.ops.nn_extras import *  # noqa: F401,F403
from kshim.ops.nn_windows import *  # noqa: F401,F403
from kshim.ops.ctc import *  # noqa: F401,F403
from kshim.ops.einops import *  # noqa: F401,F403
from kshim.ops.convolution import *  # noqa: F401,F403
from kshim.ops.rnn import *  # noqa: F401,F403
from kshim.ops.control_flow import *  # noqa: F401,F403  (Keras 3's scan signature over rnn's primitive)
from kshim.ops.linalg import *  # noqa: F401,F403
from kshim.ops.math import *  # noqa: F401,F403
from kshim.ops.complex import *  # noqa: F401,F403
from kshim.ops.dynamic import *  # noqa: F401,F403
from kshim.ops import math, core, numpy, nn  # noqa: F401,E402  (the submodules, as keras.src.ops.*)
from kshim.ops import linalg  # noqa: F401,E402  (kshim.ops.linalg, as keras.ops.linalg)
from kshim.ops import image  # noqa: F401,E402  (kshim.ops.image, as keras.ops.image)

__getattr__ = _absent.module_getattr(__name__)  # Keras 3 names kshim leaves out, each with its reason
