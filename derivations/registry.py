"""The topics, in reading order, and a uniform way to load and check one.

>>> names()[0]
'softmax_ce'
>>> load("no_such_topic")
Traceback (most recent call last):
...
derivations.registry.UnknownTopic: unknown topic 'no_such_topic'; valid topics: softmax_ce, sigmoid_neuron, window_scorer, backprop_421, lstm_gates, joint_tagging, gumbel_max, gumbel_softmax, binary_gates, aco_lstm, rnn_bptt, indrnn, exercises, rules
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from .core import Derivation, Result
from .oracles import CheckTable

#: Topic names in the order a reader meets them; each is ``derivations/<name>.py``,
#: ``docs/<name>.md`` and ``tests/test_<name>.py``.
TOPICS = (
    "softmax_ce",
    "sigmoid_neuron",
    "window_scorer",
    "backprop_421",
    "lstm_gates",
    "joint_tagging",
    "gumbel_max",
    "gumbel_softmax",
    "binary_gates",
    "aco_lstm",
    "rnn_bptt",
    "indrnn",
    "exercises",
    "rules",
)


class UnknownTopic(LookupError):
    """A topic name that is not in :data:`TOPICS`."""

    def __str__(self) -> str:
        return f"unknown topic {self.args[0]!r}; valid topics: {', '.join(TOPICS)}"


def names() -> list[str]:
    return list(TOPICS)


@dataclass(frozen=True)
class Topic:
    name: str
    module: ModuleType

    @property
    def title(self) -> str:
        return self.module.TITLE

    def derivations(self) -> list[Derivation]:
        return self.module.derivations()

    def results(self) -> list[Result]:
        return self.module.results()

    def numeric_checks(self) -> list[CheckTable]:
        return self.module.numeric_checks()


def load(name: str) -> Topic:
    """The topic called ``name``; :class:`UnknownTopic` for any other name."""
    if name not in TOPICS:
        raise UnknownTopic(name)
    return Topic(name, importlib.import_module(f"derivations.{name}"))
