"""BLAS threads for the small products of a recurrence.

A recurrent pass multiplies small matrices once per step (``W_h h_{t-1}``: a few MFLOP). Shared
between OpenBLAS's threads, such a product costs more in hand-offs than it saves, and when another
process holds a core the waiting threads make the whole pass up to 18× slower (measured on a
two-core machine). :func:`one_thread` runs a block of such products on one BLAS thread. The
products over a whole sequence at once (``W_x`` times every step's input, the weight gradients
summed over the steps) keep every thread where they are large enough to share
(:func:`threads_for`).

>>> import numpy as np
>>> with one_thread():
...     float((np.ones((2, 2)) @ np.ones((2, 2)))[0, 0])
2.0
"""

from __future__ import annotations

import contextlib
import functools
import sys


@functools.lru_cache(maxsize=1)
def _controller_for(modules: int):
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # inspects the loaded libraries (a few ms)


def _controller():
    """The BLAS libraries loaded now: looked up again whenever a module was imported since (an
    import can load another BLAS, e.g. SciPy's)."""
    return _controller_for(len(sys.modules))


def one_thread():
    """A context in which BLAS uses one thread (about 12 µs to enter and leave)."""
    controller = _controller()
    if not controller.select(user_api="blas").lib_controllers:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


#: Floating-point operations from which a product is worth sharing between BLAS threads. Below
#: it (a product of a few milliseconds or less), the threads' hand-offs cost more than they save
#: when another process holds a core: on two cores, the float32 weight-gradient products of an
#: LSTM at hidden 128, T 50 (0.1–0.2 GFLOP each) made the whole pass 4× slower with two threads.
SHARE_FLOPS = 5e8


def threads_for(flops: float):
    """A context for one product of ``flops`` operations: every BLAS thread if it is large enough
    to share (:data:`SHARE_FLOPS`), one otherwise."""
    return contextlib.nullcontext() if flops >= SHARE_FLOPS else one_thread()
