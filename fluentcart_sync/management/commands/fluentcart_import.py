"""``fluentcart_import``: the name the first version gave to reading FluentCart's customers in.

It is now the pull (``fluentcart_pull``), which does the same and more: it merges FluentCart's
edits into linked customers and finds customers deleted there. Kept as an alias so scripts that
call it keep working.
"""

from __future__ import annotations

from .fluentcart_pull import Command as PullCommand


class Command(PullCommand):
    help = "An alias of fluentcart_pull (kept for scripts written for the first version). " + PullCommand.help
