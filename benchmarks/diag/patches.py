"""Candidate fixes, applied as monkeypatches inside diagnosis processes only.

Each one is what a proposal in FINDINGS.md asks the owner of the file to
change; applying it here measures the gain before anyone edits debugdash.
Nothing in the benchmark itself (run.py) applies these.
"""

from __future__ import annotations

from collections.abc import Callable

applied: list[str] = []
_PATCHES: dict[str, Callable[[], None]] = {}


def patch(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(fn: Callable[[], None]) -> Callable[[], None]:
        _PATCHES[name] = fn
        return fn

    return register


def apply(names: list[str]) -> None:
    """Apply patches by name; each item may be a comma-separated list, "-" means none."""
    for name in [n for item in names for n in item.split(",") if n and n != "-"]:
        if name not in _PATCHES:
            raise SystemExit(f"unknown patch {name!r}; known: {', '.join(_PATCHES)}")
        _PATCHES[name]()
        applied.append(name)


# --- output flood -------------------------------------------------------------------
#
# "batch-decode", "headless-batch" and "big-pipe" (batch decoding in LogBuffer,
# one write per batch and a JSON fast path in headless.py, 1 MiB pipes) lived
# here until the same changes landed in debugdash (166219a); so did
# "on-demand-render" for idle (cdce4a8). FINDINGS.md has the numbers measured
# with them before they landed.


# --- idle: what wakes the dashboard up ----------------------------------------------


@patch("no-stats")
def _no_stats() -> None:
    """Measurement only: no psutil stats sampling (core/supervisor.py STATS_INTERVAL)."""
    from debugdash.core import supervisor

    supervisor.STATS_INTERVAL = 3600.0


@patch("stats-unchanged-quiet")
def _stats_unchanged_quiet() -> None:
    """tui/app.py _note: a Stats event marks the status line dirty only when what it shows changed.

    The status line shows cpu % to one decimal, RSS and threads; idle samples
    mostly repeat them, yet each one re-renders (and re-lays out) the top of the screen.
    """
    from debugdash.core.events import Stats
    from debugdash.tui.app import DashboardApp

    original = DashboardApp._note

    def _note(self, event):
        if isinstance(event, Stats):
            shown = (round(event.cpu_percent, 1), event.rss >> 20, event.threads)
            if getattr(self, "_bench_stats_shown", None) == shown:
                return
            self._bench_stats_shown = shown
        original(self, event)

    DashboardApp._note = _note


@patch("tick-lean")
def _tick_lean() -> None:
    """tui/app.py _tick: each second, re-render only what moves with time.

    The status line's uptime moves (fmt.duration: re-render only when its text
    changes); the access panel only while grants exist; the attach panel only
    while a client is attached. Today all three are re-rendered every second.
    """
    from debugdash.tui import format as fmt
    from debugdash.tui.app import DashboardApp

    def _tick(self) -> None:
        uptime = self.state.uptime(self._wall())
        text = fmt.duration(uptime) if uptime is not None else None
        if text != getattr(self, "_bench_uptime", None):
            self._bench_uptime = text
            self._dirty.add("status")
        if self.sup.access_entries():
            self._dirty.add("access")
        if self.state.attach.client:
            self._dirty.add("attach")
        self._render_dirty()

    DashboardApp._tick = _tick


@patch("slow-timers")
def _slow_timers() -> None:
    """Measurement only: the 10 Hz render and log-flush timers at 1 Hz (what their wake-ups cost)."""
    from debugdash.tui import app
    from debugdash.tui.widgets import log

    app.RENDER_INTERVAL = 1.0
    log.FLUSH_INTERVAL = 1.0


@patch("stats-on-tick")
def _stats_on_tick() -> None:
    """tui/app.py _note: a Stats event marks nothing dirty; the 1 s ``_tick`` redraws the status line anyway.

    Stats (1 s, from the supervisor) and the tick (1 s, from the app) are not
    in phase, so today the top of the screen is laid out and drawn twice a second.
    """
    from debugdash.core.events import Stats
    from debugdash.tui.app import DashboardApp

    original = DashboardApp._note

    def _note(self, event):
        if isinstance(event, Stats):
            return
        original(self, event)

    DashboardApp._note = _note


@patch("skip-unchanged")
def _skip_unchanged() -> None:
    """tui/widgets/status.py (and the panels): don't ``update()`` a Static with what it already shows.

    Every ``Static.update`` re-lays out the screen (``layout=True`` by default);
    the toggle bar is re-sent identical text every second. Compare with the
    last content and return early; when only the text changed but not its
    number of lines, pass ``layout=False``.
    """
    from textual.widgets import Static

    from debugdash.tui.widgets.status import StatusLine, ToggleBar

    for cls in (StatusLine, ToggleBar):
        original = cls.update

        def update(self, content="", *, layout=True, _original=original):
            key = (str(content), repr(getattr(content, "spans", None)))
            previous = getattr(self, "_bench_last", None)
            if previous is not None and previous[0] == key:
                return
            lines = str(content).count("\n")
            same_height = previous is not None and previous[1] == lines and self.size.width > len(str(content))
            self._bench_last = (key, lines)
            _original(self, content, layout=layout and not same_height)

        cls.update = update
    assert Static


# --- error path / throughput: the supervisor's wake-ups per log line ---------------


@patch("coalesce-reads")
def _coalesce_reads() -> None:
    """core/supervisor.py _pump: after a small read, wait 5 ms for more before handling it.

    A request logs one line (an error, ~60: Flask's and Werkzeug's tracebacks),
    each its own write on stderr, so the supervisor wakes, splits, stores,
    notifies and prints once per write. Coalescing for a few milliseconds
    turns a burst into one batch; a flood (reads of 64 KiB and more) is not delayed.
    """
    import asyncio

    from debugdash.core.logbuffer import LineSplitter
    from debugdash.core.supervisor import Supervisor

    async def _pump(self, stream, name):
        splitter = LineSplitter()
        while chunk := await stream.read(256 * 1024):
            if len(chunk) < 16 * 1024:
                await asyncio.sleep(0.005)
                if stream._buffer:
                    chunk += await stream.read(256 * 1024)
            lines = splitter.feed(chunk)
            if lines:
                self.logs.append(name, lines)
        self.logs.append(name, splitter.flush())

    Supervisor._pump = _pump



@patch("logview-map")
def _logview_map() -> None:
    """tui/widgets/log.py LogView.append: C-level ``map`` instead of two generators over every line.

    During a flood every 0.1 s flush hands the view up to 10,000 lines; the
    generators (``expandtabs`` per line, ``max(len(...))``) cost ~30 ms of the
    event loop per flush, which is when keys wait and the pipe fills.
    Only lines with a tab need ``expandtabs``.
    """
    from textual.geometry import Size

    from debugdash.tui.widgets.log import LogView

    def append(self, lines: list[str]) -> None:
        if not lines:
            return
        follow = self.following
        before = len(self._lines)
        maxlen = self._lines.maxlen
        if maxlen is not None and len(lines) > maxlen:
            lines = lines[-maxlen:]
        if "\t" in "".join(lines):
            lines = list(map(str.expandtabs, lines))
        self._lines.extend(lines)
        dropped = before + len(lines) - len(self._lines)
        self._first += dropped
        self._width = max(self._width, max(map(len, lines)))
        self.virtual_size = Size(self._width, len(self._lines))
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif dropped:
            self.scroll_to(y=max(0, self.scroll_y - dropped), animate=False, immediate=True)
        self.refresh()

    LogView.append = append


@patch("json-join")
def _json_join() -> None:
    """core/events.py log_lines_json: one C-level join for a batch with nothing to escape.

    When no line holds a character JSON must escape (``"``, ``\\``, controls,
    non-ASCII under ensure_ascii), each line's JSON is just the line between
    quotes: build the whole batch with ``str.join`` instead of an f-string and
    an escaper call per line. Same bytes as before.
    """
    import re

    from debugdash import headless
    from debugdash.core import events

    needs_escape = re.compile(r'[\x00-\x09\x0b-\x1f"\\\x7f-\U0010ffff]')
    original = events.log_lines_json

    def log_lines_json(stream: str, lines: list[str], when: float) -> list[str]:
        if not lines:
            return []
        joined = "\n".join(lines)
        if needs_escape.search(joined) is not None:
            return original(stream, lines, when)
        head = f'{{"event":"log","time":{when!r},"stream":{events._json_string(stream)},"line":"'
        return [head + ('"}\n' + head).join(lines) + '"}\n']

    events.log_lines_json = log_lines_json
    headless.log_lines_json = log_lines_json
