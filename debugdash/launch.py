"""The `debugdash` command's first lines: start the server's interpreter, then
import the rest.

Importing click, asyncio and the supervisor takes as long as the server takes
to import Flask; done one after the other they were start-up's largest cost.
``core.prestart`` starts the server's interpreter first, on the other core,
and the supervisor hands it its command once it is up.
"""

from __future__ import annotations

import sys


def main(**kwargs: object) -> None:
    from debugdash.core import prestart

    prestart.launch(sys.argv[1:], wait=_wait_as_server)
    try:
        from debugdash.cli import main as cli

        cli(**kwargs)
    finally:
        # Not taken by a supervisor (bad input, --help ...): it must not outlive us.
        prestart.discard_pending()


def _wait_as_server() -> None:
    """In the child forked to be the server: fork its guard's standby while it is small,
    import what it needs, wait for its command, run it."""
    from debugdash.agent import standby

    standby.start()
    from debugdash.agent import prestart

    prestart.main()
