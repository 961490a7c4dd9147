"""Executable, machine-checked derivations of neural-network gradients.

Each topic is a module of this package (``derivations.softmax_ce``, …) exposing ``TITLE``,
``derivations()``, ``results()`` and ``numeric_checks()``; :mod:`derivations.registry` lists them in
reading order, and the ``derive`` command line reads them from there.
"""

__version__ = "0.1.0"

#: The topics that take longest to check, longest first (measured on a two-core machine). Only the
#: order of parallel work depends on it: ``derive check`` and the site build start these first, so
#: that the processes finish together; a topic not listed starts last. (No imports here: the site's
#: ``conf.py`` reads it without loading SymPy.)
SLOWEST_FIRST = ("gumbel_softmax", "rnn_bptt", "joint_tagging", "lstm_gates", "exercises", "gumbel_max", "softmax_ce",
                 "backprop_421", "aco_lstm", "binary_gates", "window_scorer", "rules", "indrnn", "sigmoid_neuron")
