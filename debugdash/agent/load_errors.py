"""Reporting an app that cannot be loaded as a ``load_error`` event.

The event names the file and line to fix: a SyntaxError's own, else the
innermost frame of the app's code in the root cause (Flask raises
NoAppException ``from None`` over the ImportError that names the file). Those
files are also handed to the reloader, which would not watch them otherwise:
a module that failed to import is not in ``sys.modules``.
"""

from __future__ import annotations

import os

from debugdash.agent.runtime import Agent
from debugdash.protocol.events import LoadError


def report_load_error(
    agent: Agent, exc: BaseException, script: str | None = None, emit: bool = True
) -> LoadError | None:
    """Build (and unless ``emit`` is False, send) ``load_error`` for ``exc``; None if already reported.

    Either way the files it names join what the reloader watches.
    """
    from debugdash.agent.capture import exception_chain, is_app_file, mark_reported, message_of

    if not mark_reported(exc):
        return None
    related = _related(exc)
    filename: str | None = None
    lineno: int | None = None
    for item in related:
        if isinstance(item, SyntaxError) and item.filename:
            filename, lineno = item.filename, item.lineno
            break
    watch = {filename} if filename else set()
    innermost: tuple[str, int] | None = None
    # Root cause first: its innermost app frame is where loading really failed.
    for item in reversed(related):
        tb = item.__traceback__
        item_innermost = None
        while tb is not None:
            name = tb.tb_frame.f_code.co_filename
            if is_app_file(name) and os.path.isfile(name):
                watch.add(name)
                item_innermost = (name, tb.tb_lineno)
            tb = tb.tb_next
        if innermost is None:
            innermost = item_innermost
    if filename is None and innermost is not None:
        filename, lineno = innermost
    if script:
        watch.add(os.path.abspath(script))
        if filename is None:
            filename = os.path.abspath(script)
    agent.extra_watch.update(os.path.abspath(f) for f in watch if f)
    try:
        chain = exception_chain(exc)
        info = chain[-1] if chain else None
    except Exception:
        info = None
    event = LoadError(message=message_of(exc), filename=filename, lineno=lineno, exception=info, pid=os.getpid())
    if emit:
        agent.emit(event)
    return event


def _related(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it was raised from or while handling, suppressed ones too."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found
