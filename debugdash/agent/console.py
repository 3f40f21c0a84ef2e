"""A Python console bound to one kept frame (issue 13), run inside the server.

Each console has its own namespace: a copy of the frame's globals with its
locals on top, so names assigned in the console (``x = order["total"]``) stay
for the next evaluation without touching the app's module, and functions or
comprehensions typed in the console see the frame's locals (a separate locals
mapping would hide them). The objects are the live ones: ``order["total"] = 0``
changes the order the app holds, as in any debugger.

``print()`` in the console writes to that evaluation's output through a
``print`` in the console's namespace; ``sys.stdout`` is never swapped, so the
server's own output goes where it always goes while an evaluation runs.

An evaluation runs on the calling thread (the agent gives each query its own);
``interrupt()`` from any other thread raises KeyboardInterrupt in it with
``PyThreadState_SetAsyncExc``, which a pure-Python loop sees within a few
bytecodes. A call blocked in C (``time.sleep``) sees it when that call returns.

Standard library only: this runs inside someone else's server.
"""

from __future__ import annotations

import ast
import builtins
import ctypes
import itertools
import keyword
import linecache
import re
import sys
import threading
import traceback
from dataclasses import dataclass

from debugdash.agent.frames import LiveFrame

#: Most characters of printed output kept per evaluation; the rest is counted.
MAX_OUTPUT = 64 * 1024
#: Longest repr shown for a value.
MAX_VALUE = 32 * 1024
#: Longest traceback text.
MAX_TRACEBACK = 32 * 1024
#: Completions offered at most.
MAX_COMPLETIONS = 200
#: Evaluated sources kept in linecache (for their tracebacks); older ones are dropped.
_SOURCES_KEPT = 100


class ConsoleBusy(RuntimeError):
    """An evaluation is still running in this console."""


@dataclass(slots=True)
class Outcome:
    """What one evaluation gave: printed output, and a value's repr or a traceback."""

    output: str = ""
    value: str = ""
    raised: bool = False
    traceback: str = ""


class Console:
    """One console over one frame; one evaluation at a time, interruptible from another thread."""

    def __init__(self, live: LiveFrame) -> None:
        frame = live.frame
        namespace = dict(frame.f_globals)
        try:
            namespace.update(frame.f_locals)
        except Exception:
            pass
        namespace["print"] = self._print
        self.namespace = namespace
        self.where = live
        self._busy = threading.Lock()
        self._lock = threading.Lock()
        self._thread: int | None = None
        self._timed_out = False
        self._output: list[str] = []
        self._size = 0
        self._dropped = 0

    # --- evaluating -------------------------------------------------------------

    def run(self, source: str, timeout: float = 0.0) -> Outcome:
        """Run ``source`` (statements, a last expression's repr is the value).

        ``timeout`` > 0 interrupts the evaluation after that many seconds.
        Raises ConsoleBusy when an evaluation of this console is running.
        """
        if not self._busy.acquire(blocking=False):
            raise ConsoleBusy("an evaluation is still running in this console; Ctrl-C interrupts it")
        timer = None
        try:
            self._output, self._size, self._dropped, self._timed_out = [], 0, 0, False
            filename = _remember_source(source)
            try:
                body, last = _compile(source, filename)
            except (SyntaxError, ValueError) as e:
                return Outcome(raised=True, traceback="".join(traceback.format_exception_only(type(e), e)))
            if timeout > 0:
                timer = threading.Timer(timeout, self._time_out)
                timer.daemon = True
                timer.start()
            try:
                value = self._evaluate(body, last)
            except BaseException as e:  # noqa: BLE001  SystemExit and KeyboardInterrupt too: the server lives on
                text = _traceback_text(e, filename)
                if self._timed_out:
                    text += f"(stopped after {timeout:g} s; give it longer with --timeout)\n"
                return Outcome(output=self._collected(), raised=True, traceback=text)
            return Outcome(output=self._collected(), value=value)
        except KeyboardInterrupt:
            # An interrupt that arrived just as the evaluation ended, outside of it.
            return Outcome(output=self._collected(), raised=True, traceback="KeyboardInterrupt\n")
        finally:
            if timer is not None:
                timer.cancel()
            self._busy.release()

    def _evaluate(self, body: object, last: object) -> str:
        with self._lock:
            self._thread = threading.get_ident()
        try:
            if body is not None:
                exec(body, self.namespace)  # noqa: S102  the point of a console
            if last is None:
                return ""
            value = eval(last, self.namespace)  # noqa: S307
            if value is None:
                return ""
            self.namespace["_"] = value
            return _value_repr(value)
        finally:
            self._stop_interrupts()

    def interrupt(self) -> bool:
        """Raise KeyboardInterrupt in the running evaluation; False when none runs."""
        with self._lock:
            if self._thread is None:
                return False
            _async_raise(self._thread, KeyboardInterrupt)
            return True

    @property
    def running(self) -> bool:
        return self._busy.locked()

    def _time_out(self) -> None:
        self._timed_out = self.interrupt()

    def _stop_interrupts(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            _async_raise(thread, None)  # one sent as the evaluation ended must not hit the agent

    # --- output -------------------------------------------------------------------

    def _print(self, *args: object, sep: str | None = " ", end: str | None = "\n", file: object = None, flush: bool = False) -> None:
        if file is not None and file is not sys.stdout:
            builtins.print(*args, sep=sep, end=end, file=file, flush=flush)  # type: ignore[call-overload]
            return
        text = (" " if sep is None else sep).join(str(a) for a in args) + ("\n" if end is None else end)
        room = MAX_OUTPUT - self._size
        if room <= 0:
            self._dropped += len(text)
            return
        self._output.append(text[:room])
        self._size += min(room, len(text))
        self._dropped += max(0, len(text) - room)

    def _collected(self) -> str:
        text = "".join(self._output)
        if self._dropped:
            text += f"\n… [{self._dropped} more characters of output]\n"
        return text

    # --- completion --------------------------------------------------------------

    def complete(self, text: str) -> list[str]:
        """What the name or attribute at the end of ``text`` may be completed to (whole words).

        Names in the console's namespace (the frame's locals and globals, and the
        console's own) come first; builtins are offered only when none of those
        match, so ``ord`` completes to the local ``order`` rather than stopping at
        the builtin ``ord``.
        """
        match = re.search(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*\.?$", text)
        if match is None:
            return []
        token = match.group()
        if "." in token:
            return self._attributes(token)
        names = [n for n in self.namespace if n.startswith(token) and n != "print" and _shown(n, token)]
        names += [k for k in keyword.kwlist if k.startswith(token)]
        if not names:
            names = [n for n in dir(builtins) if n.startswith(token) and _shown(n, token)]
        return sorted(set(names))[:MAX_COMPLETIONS]

    def _attributes(self, token: str) -> list[str]:
        expression, _, prefix = token.rpartition(".")
        try:
            # Only a dotted name reaches here (see the pattern): attribute lookups, no calls.
            obj = eval(expression, self.namespace)  # noqa: S307
            names = dir(obj)
        except Exception:
            return []
        found = [f"{expression}.{n}" for n in names if n.startswith(prefix) and _shown(n, prefix)]
        return sorted(found)[:MAX_COMPLETIONS]


def _shown(name: str, typed: str) -> bool:
    # Private names only when the user starts one, as Python's own completer does.
    return not name.startswith("_") or typed.startswith("_")


_numbers = itertools.count(1)
_sources: list[str] = []
_sources_lock = threading.Lock()


def _remember_source(source: str) -> str:
    """A file name for ``source`` whose lines tracebacks can show; bounded."""
    filename = f"<console {next(_numbers)}>"
    with _sources_lock:
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        _sources.append(filename)
        while len(_sources) > _SOURCES_KEPT:
            linecache.cache.pop(_sources.pop(0), None)
    return filename


def _compile(source: str, filename: str) -> tuple[object, object]:
    """The statements, and the last one compiled apart when it is an expression (its value is shown)."""
    tree = ast.parse(source, filename, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = compile(ast.Expression(tree.body.pop().value), filename, "eval")
    body = compile(tree, filename, "exec") if tree.body else None
    return body, last


def _value_repr(value: object) -> str:
    try:
        text = repr(value)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001  a broken __repr__ is shown, not raised
        try:
            name = type(value).__qualname__
        except Exception:
            name = "object"
        return f"<repr of {name} raised {type(e).__qualname__}: {_message(e)}>"
    if not isinstance(text, str):
        return "<repr did not return a string>"
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _message(e: BaseException) -> str:
    try:
        return str(e)[:200]
    except Exception:
        return "<unprintable>"


def _traceback_text(e: BaseException, filename: str) -> str:
    """The traceback from the console's own code inward (the agent's frames are not the user's story)."""
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    try:
        text = "".join(traceback.format_exception(type(e), e, tb))
    except Exception:
        text = f"{type(e).__qualname__}: {_message(e)}\n"
    return text if len(text) <= MAX_TRACEBACK else "…\n" + text[-MAX_TRACEBACK:]


def _async_raise(thread_id: int, exception: type[BaseException] | None) -> None:
    target = ctypes.py_object(exception) if exception is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), target)
