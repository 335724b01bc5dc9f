"""A fake FluentCart that ships with fluentcart_sync: for tests, the demo and benchmarks.

Standard library only (the responses adapter imports `requests` when used), and importable without
Django settings.
"""

from .faults import Faults
from .server import SandboxServer
from .wire import ConnectionDropped, FakeFluentCart, Reply, SeenRequest, encode

__all__ = ["ConnectionDropped", "FakeFluentCart", "Faults", "Reply", "SandboxServer", "SeenRequest", "encode"]
