"""``python -m derivations`` is the ``derive`` command."""

import sys

from .cli import main

sys.exit(main())
