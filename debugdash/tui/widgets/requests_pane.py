"""The Requests tab: every request live above, the highlighted one in full below,
and a ``/`` filter by status class and path text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import DataTable, Input, Static

from debugdash.protocol.events import RequestError
from debugdash.protocol.request_events import RequestRecord
from debugdash.tui.widgets.request_detail import RequestDetail, render_detail
from debugdash.tui.widgets.requests import MAX_ROWS, RequestFilter, RequestList

NO_REQUESTS = "No requests yet: each one the server answers shows here."
FILTER_HINT = "5xx 4xx … and/or path text; Enter: apply, Escape: clear"


class RequestSource(Protocol):
    """What the pane reads (the supervisor's RequestStore)."""

    def records(self, *, limit: int | None = None) -> list[RequestRecord]: ...  # newest first
    def error(self, request_id: int) -> RequestError | None: ...
    def counts(self) -> dict[str, int]: ...  # "kept": how many records it holds


#: ``load(request_id, reveal=...)``: the supervisor's RequestDetail; raises when the request is not kept.
Loader = Callable[..., Awaitable[Any]]


class RequestsPane(Vertical):
    """Shows request records; the highlight picks what the detail shows."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "filter", "Filter", show=False)]

    def __init__(self, source: RequestSource, load: Loader, verify: Callable[[], bool], **kwargs: Any) -> None:
        """``verify()``: whether verify-on-reload is on (shown on the status line)."""
        super().__init__(**kwargs)
        self._verify = verify
        self._source = source
        self._load = load
        self._filter = RequestFilter()
        self._total = 0
        self._shown: list[RequestRecord] = []
        #: The one request whose secrets are on screen (the palette's reveal), else None.
        self.revealed: int | None = None
        self._detail_for: tuple[int, bool] | None = None
        self._stale = False

    def compose(self) -> ComposeResult:
        yield Input(placeholder=FILTER_HINT, id="requests-filter")
        yield Static(id="requests-status")
        yield RequestList(id="requests-table")
        yield RequestDetail(id="request-detail")

    def on_mount(self) -> None:
        self.query_one("#requests-filter", Input).display = False
        self.show()

    # --- what to show -------------------------------------------------------------

    def changed(self) -> None:
        """New records arrived: shown now when the tab is in view, else when it comes into view."""
        if self.parent is not None and getattr(self.parent, "display", True) and self.is_attached:
            self.show()
        else:
            self._stale = True

    def on_show(self) -> None:
        if self._stale:
            self.show()

    def show(self) -> None:
        """Read the records again (newest first) and show those the filter lets through."""
        self._stale = False
        if self._filter:
            records = self._source.records()
            self._shown = [record for record in records if self._filter.matches(record)][:MAX_ROWS]
        else:
            self._shown = self._source.records(limit=MAX_ROWS)
        self._total = self._source.counts()["kept"]
        table = self.query_one(RequestList)
        table.show(self._shown)
        table.display = bool(self._shown)
        self.show_status()
        self._show_selected()

    @property
    def selected(self) -> RequestRecord | None:
        selected = self.query_one(RequestList).selected_id
        return next((record for record in self._shown if str(record.id) == selected), None)

    def reveal(self, request_id: int | None) -> None:
        """Show the real values of one request's secrets (None: hide them again)."""
        self.revealed = request_id
        self._detail_for = None
        self._show_selected()

    def show_status(self) -> None:
        total, shown = self._total, len(self._shown)
        if not total:
            status = Text(NO_REQUESTS, "dim")
        elif self._filter:
            status = Text(f"{shown:,} of {total:,} match ", "dim")
            status.append(self._filter.describe(), "bold")
            status.append(" · / change · Esc clear", "dim")
        else:
            status = Text(f"{total:,} requests · / filter · R replay · C curl", "dim")
        status.append(f" · v verify fixes: {'on' if self._verify() else 'off'}", "dim")
        self.query_one("#requests-status", Static).update(status)

    def _show_selected(self) -> None:
        record = self.selected
        detail = self.query_one(RequestDetail)
        detail.display = record is not None
        if record is None:
            self._detail_for = None
            return
        key = (record.id, self.revealed == record.id)
        if key != self._detail_for:
            self._detail_for = key
            self._fill_detail(record, key[1])

    @work(exclusive=True, group="request-detail")
    async def _fill_detail(self, record: RequestRecord, reveal: bool) -> None:
        view = self.query_one(RequestDetail)
        error = self._source.error(record.id)
        view.show(render_detail(record, None, error, Text("loading headers and body…", "dim")))
        try:
            detail = await self._load(record.id, reveal=reveal)
        except Exception as e:  # noqa: BLE001  not kept any more, the worker went away: say so in place
            view.show(render_detail(record, None, error, Text(str(e), "yellow")))
            return
        view.show(render_detail(record, detail, detail.error or error))

    @on(DataTable.RowHighlighted, "#requests-table")
    def _highlighted(self) -> None:
        try:
            self._show_selected()
        except NoMatches:  # a late message while the app closes
            pass

    # --- the filter ----------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#requests-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#requests-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = RequestFilter.parse(event.value)
        self.show()

    @on(Input.Submitted, "#requests-filter")
    def _filter_submitted(self) -> None:
        self.query_one(RequestList).focus()

    def key_escape(self) -> None:
        box = self.query_one("#requests-filter", Input)
        if box.display or self._filter:
            box.value = ""
            box.display = False
            self._filter = RequestFilter()
            self.show()
            self.query_one(RequestList).focus()
