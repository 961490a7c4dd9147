"""``sphinx-build`` without Python's teardown at the end: ``python docs/_ext/run_sphinx.py ARGS``.

Takes exactly ``sphinx-build``'s arguments and returns its exit code. When Sphinx's ``main()``
returns, every output file is written and closed and the build's helpers (the kernel zygote, the
MathJax server) have stopped; what is left is for Python to free the build's objects (the
environment, every doctree, SymPy's caches) one by one, about half a second, a fifth of a
no-change rebuild. So this runs the exit handlers, flushes the standard streams and leaves.
"""

from __future__ import annotations

import atexit
import os
import sys

from sphinx.cmd.build import main

if __name__ == "__main__":
    code = main(sys.argv[1:])
    atexit._run_exitfuncs()  # what a normal exit runs first (logging, temporary files, …)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
