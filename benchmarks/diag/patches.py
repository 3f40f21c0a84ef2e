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


# --- output flood: the supervisor's per-line cost ---------------------------------


@patch("batch-decode")
def _batch_decode() -> None:
    """core/logbuffer.py: split, store and decode whole batches in C instead of per line in Python.

    - LineSplitter.feed: ``max(map(len, middle))`` instead of a generator over every line;
    - LogBuffer.append: ``zip(count(first), repeat(stream), lines)`` instead of a generator;
    - LogBuffer.since: decode the missing lines of a batch in one go when the batch
      is plain printable text (one join, one decode, one regex search, one split),
      falling back to ``display_text`` per line otherwise; ``_decoded`` pruned by
      popping the oldest keys instead of rebuilding the dict on every append.
    """
    import re
    from itertools import count, repeat

    from debugdash.core import logbuffer
    from debugdash.core.logbuffer import LineSplitter, LogBuffer, LogLine
    from debugdash.core.text import MAX_LINE_CHARS, display_text

    def feed(self, chunk: bytes) -> list[bytes]:
        parts = chunk.split(b"\n")
        if len(parts) == 1:
            self._add_partial(parts[0])
            return []
        self._add_partial(parts[0])
        lines = [self._take_partial()]
        middle = parts[1:-1]
        if middle and max(map(len, middle)) > self.max_line:
            middle = [self._cut(line, len(line) - self.max_line) if len(line) > self.max_line else line for line in middle]
        lines.extend(middle)
        self._add_partial(parts[-1])
        return lines

    def append(self, stream: str, lines: list[bytes]) -> None:
        if not lines:
            return
        if len(lines) > self.capacity:
            self.last_seq += len(lines) - self.capacity
            lines = lines[-self.capacity :]
        first = self.last_seq + 1
        self._raw.extend(zip(count(first), repeat(stream), lines))
        self.last_seq += len(lines)
        decoded = self._decoded
        if len(decoded) > self.capacity:
            oldest = self._raw[0][0]
            for seq in [s for s in decoded if s < oldest]:
                del decoded[seq]
        for listener in list(self._listeners):
            listener()

    # Anything but printable ASCII/UTF-8 text and tabs sends the batch down the careful path.
    unsafe = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

    def since(self, seq: int, limit: int | None = None) -> list[LogLine]:
        if seq >= self.last_seq or not self._raw:
            return []
        n = min(self.last_seq - seq, len(self._raw))
        if limit is not None:
            n = min(n, limit)
        raw = self._raw
        start = len(raw) - n
        entries = [raw[i] for i in range(start, len(raw))]
        decoded = self._decoded
        missing = [e for e in entries if e[0] not in decoded]
        if missing:
            datas = [e[2] for e in missing]
            joined = b"\n".join(datas)
            text = joined.decode("utf-8", "replace")
            texts = None
            if max(map(len, datas)) <= MAX_LINE_CHARS and not unsafe.search(text):
                texts = text.split("\n")
                if len(texts) != len(missing):
                    texts = None
            if texts is None:
                texts = [display_text(d) for d in datas]
            for (s, stream, _), t in zip(missing, texts):
                decoded[s] = LogLine(s, stream, t)
        return [decoded[e[0]] for e in entries]

    LineSplitter.feed = feed
    LogBuffer.append = append
    LogBuffer.since = since
    logbuffer._unsafe = unsafe


@patch("headless-batch")
def _headless_batch() -> None:
    """headless.py: one write per batch; --json log lines built without the dataclass round trip.

    ``Log(...).to_dict()`` walks ``dataclasses.fields`` and recurses through
    ``_to_plain`` for four flat fields; the line is the only part that needs
    JSON escaping, and the time can be read once per batch. Same keys, same
    order, same values as ``Log.to_dict()``.
    """
    import json
    import time

    from debugdash.headless import HeadlessPrinter

    dumps = json.JSONEncoder(separators=(",", ":")).encode

    def on_logs(self) -> None:
        logs = self.supervisor.logs
        lines = logs.since(self._log_seq)
        pieces: list[str] = []
        if self.as_json:
            now = repr(time.time())
            head = '{"event":"log","time":' + now + ',"stream":"'
            if lines and lines[0].seq > self._log_seq + 1:
                dropped = lines[0].seq - self._log_seq - 1
                pieces.append(head + 'stderr","line":' + dumps(f"[debugdash: {dropped} lines of output not shown]") + "}\n")
            pieces.extend(f'{head}{line.stream}","line":{dumps(line.text)}}}\n' for line in lines)
        else:
            if lines and lines[0].seq > self._log_seq + 1:
                pieces.append(f"  | [debugdash: {lines[0].seq - self._log_seq - 1} lines of output not shown]\n")
            pieces.extend(f"  | {line.text}\n" for line in lines)
        self._log_seq = logs.last_seq
        if pieces:
            try:
                self.out.write("".join(pieces))
            except (BrokenPipeError, ValueError):
                pass
        self._flush()

    HeadlessPrinter.on_logs = on_logs


@patch("big-pipe")
def _big_pipe() -> None:
    """core/supervisor.py _launch: 1 MiB pipes for the server's stdout/stderr (Linux F_SETPIPE_SZ).

    With the default 64 KiB the app blocks whenever the event loop is busy
    for a moment (a dashboard frame, a burst of events); 1 MiB (the default
    /proc/sys/fs/pipe-max-size) lets it keep writing ~15,000 lines meanwhile.
    """
    import asyncio
    import contextlib
    import fcntl

    original = asyncio.create_subprocess_exec
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", 1031)

    async def create_subprocess_exec(*args, **kwargs):
        proc = await original(*args, **kwargs)
        for fd in (1, 2):
            transport = proc._transport.get_pipe_transport(fd)
            if transport is not None:
                with contextlib.suppress(OSError):
                    fcntl.fcntl(transport.get_extra_info("pipe").fileno(), setpipe, 1 << 20)
        return proc

    asyncio.create_subprocess_exec = create_subprocess_exec


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


@patch("on-demand-render")
def _on_demand_render() -> None:
    """tui/app.py and tui/widgets/log.py: no 10 Hz polling timers; a one-shot timer when something became dirty.

    DashboardApp: ``self._dirty`` becomes a method ``_mark(*parts)`` that adds and,
    when no render is pending, ``self.set_timer(RENDER_INTERVAL, self._render_dirty)``.
    LogPane: ``_mark_dirty`` schedules ``_flush`` the same way (one pending timer).
    Same latency bound (0.1 s), zero wake-ups while nothing happens.
    """
    from debugdash.tui import app as app_module
    from debugdash.tui.widgets import log

    class DirtySet(set):
        """A set that schedules one render when something is added to it."""

        def __init__(self, owner):
            super().__init__()
            self._owner = owner

        def _schedule(self):
            owner = self._owner
            if not getattr(owner, "_bench_pending", False) and owner.is_running:
                owner._bench_pending = True

                def run():
                    owner._bench_pending = False
                    owner._render_dirty()

                owner.set_timer(app_module.RENDER_INTERVAL, run)

        def add(self, item):
            super().add(item)
            self._schedule()

        def update(self, *items):
            super().update(*items)
            self._schedule()

    App = app_module.DashboardApp
    original_mount = App.on_mount
    original_render = App._render_dirty

    def on_mount(self):
        original_set_interval = self.set_interval

        def set_interval(interval, callback, *args, **kwargs):
            if callback == self._render_dirty:
                return original_set_interval(3600, lambda: None)
            return original_set_interval(interval, callback, *args, **kwargs)

        self.set_interval = set_interval
        self._dirty = DirtySet(self)
        original_mount(self)
        del self.set_interval

    def _render_dirty(self):
        if not isinstance(self._dirty, DirtySet):
            original_render(self)
            return
        dirty = set(self._dirty)
        self._dirty.clear()
        saved = self._dirty
        self._dirty = dirty  # the original swaps in a plain set; give it ours back after
        original_render(self)
        leftover = self._dirty
        self._dirty = saved
        if leftover:
            saved.update(*leftover)

    App.on_mount = on_mount
    App._render_dirty = _render_dirty

    Pane = log.LogPane

    def pane_mount(self):
        self.query_one("#log-search").display = False
        self._show_status()

    def mark_dirty(self):
        self._dirty = True
        if not getattr(self, "_bench_pending", False) and self.is_mounted:
            self._bench_pending = True

            def run():
                self._bench_pending = False
                self._flush()

            self.app.call_from_thread if False else None
            self.set_timer(log.FLUSH_INTERVAL, run)

    Pane.on_mount = pane_mount
    Pane._mark_dirty = mark_dirty


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
