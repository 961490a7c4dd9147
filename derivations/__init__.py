"""Executable, machine-checked derivations of neural-network gradients.

Each topic is a module of this package (``derivations.softmax_ce``, …) exposing ``TITLE``,
``derivations()``, ``results()`` and ``numeric_checks()``; :mod:`derivations.registry` lists them in
reading order, and the ``derive`` command line reads them from there.
"""

__version__ = "0.1.0"
