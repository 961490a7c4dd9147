"""The topic registry: names in reading order, loading, and the one-line error for others."""

from __future__ import annotations

import pytest

from derivations import SLOWEST_FIRST, registry


def test_every_topic_loads_with_its_title_and_pieces():
    assert registry.names() == list(registry.TOPICS)
    for name in registry.names():
        topic = registry.load(name)
        assert topic.name == name and topic.title.strip()
        assert topic.module.__name__ == f"derivations.{name}"
        for piece in ("derivations", "results", "numeric_checks"):
            assert callable(getattr(topic.module, piece)), (name, piece)


def test_unknown_topic_is_one_line_naming_the_valid_ones():
    with pytest.raises(registry.UnknownTopic) as err:
        registry.load("softmax")
    msg = str(err.value)
    assert "\n" not in msg and "'softmax'" in msg and all(n in msg for n in registry.TOPICS)


def test_the_parallel_check_order_lists_every_topic_once():
    """A topic missing from SLOWEST_FIRST would still be checked (and its page read), but last."""
    assert sorted(SLOWEST_FIRST) == sorted(registry.TOPICS)
