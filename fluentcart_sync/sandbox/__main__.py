"""`python -m fluentcart_sync.sandbox`: the fake FluentCart without Django."""

import sys

from .cli import main

sys.exit(main())
