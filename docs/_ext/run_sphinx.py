"""``sphinx-build`` without Python's teardown at the end: ``python docs/_ext/run_sphinx.py ARGS``.

Takes exactly ``sphinx-build``'s arguments and returns its exit code. When Sphinx's ``main()``
returns, every output file is written and closed and the build's helpers (the kernel zygote, the
MathJax server) have stopped; what is left is for Python to free the build's objects (the
environment, every doctree, SymPy's caches) one by one, about half a second, a fifth of a
no-change rebuild. So this runs the exit handlers, flushes the standard streams and leaves.

It also collects garbage less often (:data:`GC_THRESHOLDS`). A build makes millions of small
objects that live as long as a page does (docutils nodes, each with its parent and children:
cycles, freed only by the collector) and unpickles every doctree two or three times in the main
process (the figure numbers, the cross-references, the writing). With Python's default
thresholds (700, 10, 10) the collector's full passes walk the whole heap again and again: in a
clean build of this site they were about a third of the main process's CPU time (9.6–11.0 s with
the default, 5.9–7.1 s with these, in five builds; its reader processes are forked from it and
collect alike). Memory stays bounded, since cycles are still freed, only in larger batches.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys

from sphinx.cmd.build import main

#: The collector's thresholds for a build: a young-generation pass after 50,000 allocations
#: (not 700), a full pass after 20 × 100 of those (not 10 × 10).
GC_THRESHOLDS = (50_000, 20, 100)

if __name__ == "__main__":
    gc.set_threshold(*GC_THRESHOLDS)
    code = main(sys.argv[1:])
    atexit._run_exitfuncs()  # what a normal exit runs first (logging, temporary files, …)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
