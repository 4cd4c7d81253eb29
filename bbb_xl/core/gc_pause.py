"""The cyclic garbage collector paused around bbb_xl's big passes.

A parse, a workbook read or a refresh makes millions of short-lived containers (rows, column tuples, cell texts) and
no reference cycles worth collecting: every object is freed by its reference count as before. With the collector on,
each full collection walks every live container again, the caller's input rows included (a tenth of a 100,000-line
refresh, a third of a 1M-line parse). Paused, not frozen: the state the caller had is restored, nested pauses are
harmless, and nothing is collected or kept that would not be otherwise.
"""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic GC for the block (or the decorated function), restoring whether it was enabled."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
