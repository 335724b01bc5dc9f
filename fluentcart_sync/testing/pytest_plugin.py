"""The pytest plugin of fluentcart_sync: one fixture, ``fluentcart_fake``, and nothing else.

Installing the app registers this module under pytest's ``pytest11`` entry point, so the fixture is
available in a host project's tests; it is opt-in in the only way that matters: it is not autouse,
adds no hook, option or marker, and imports nothing from Django until a test asks for it. A test that
does not name ``fluentcart_fake`` runs exactly as without the plugin. Turn it off with
``-p no:fluentcart_sync.testing.pytest_plugin``; with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set, turn it
on with ``-p fluentcart_sync.testing.pytest_plugin`` (or ``pytest_plugins = [...]`` in a conftest).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from . import FluentCartFake


@pytest.fixture
def fluentcart_fake() -> Iterator["FluentCartFake"]:
    """A fresh fake FluentCart served on 127.0.0.1, with ``FLUENTCART_SYNC`` pointed at it for the
    test; stopped afterwards. See ``fluentcart_sync.testing.fluentcart_fake`` for its helpers."""
    from . import fluentcart_fake as serve

    with serve() as fake:
        yield fake
