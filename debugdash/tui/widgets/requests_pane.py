"""The Requests tab: every request live above, the highlighted one in full below,
and a ``/`` filter by status class and path text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import DataTable, Input, Static

from debugdash.protocol.events import RequestError
from debugdash.tui.widgets.request_detail import RequestDetail, render_detail
from debugdash.tui.widgets.requests import RequestFilter, RequestList

NO_REQUESTS = "No requests yet. Every request the server answers shows up here, newest first."
FILTER_HINT = "5xx 4xx … and/or path text; Enter: apply, Escape: clear"

#: ``load(request_id, reveal)``: the kept request (headers, body) or None.
Loader = Callable[[str, bool], Awaitable[Any]]


class RequestsPane(Vertical):
    """Shows request records; the highlight picks what the detail shows."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "filter", "Filter", show=False)]

    def __init__(self, load: Loader, *, root: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._load = load
        self._root = root
        self._filter = RequestFilter()
        self._records: Sequence[Any] = ()
        self._shown: list[Any] = []
        self._errors: dict[str, RequestError] = {}
        #: The one request whose secrets are on screen (the palette's reveal), else None.
        self.revealed: str | None = None
        self._detail_for: tuple[str, bool] | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder=FILTER_HINT, id="requests-filter")
        yield Static(id="requests-status")
        yield RequestList(id="requests-table")
        yield RequestDetail(id="request-detail")

    def on_mount(self) -> None:
        self.query_one("#requests-filter", Input).display = False
        self._show_status()

    # --- what to show -------------------------------------------------------------

    def show(self, records: Sequence[Any], errors: dict[str, RequestError]) -> None:
        """``records`` newest first; ``errors`` the traceback of each request that raised, by id."""
        self._records, self._errors = records, errors
        self._shown = [record for record in records if self._filter.matches(record)] if self._filter else list(records)
        table = self.query_one(RequestList)
        table.show(self._shown, errors.keys())
        table.display = bool(self._shown)
        self._show_status()
        self._show_selected()

    @property
    def selected(self) -> Any | None:
        selected = self.query_one(RequestList).selected_id
        return next((record for record in self._shown if str(record.id) == selected), None)

    def reveal(self, request_id: str | None) -> None:
        """Show the real values of one request's secrets (None: hide them again)."""
        self.revealed = request_id
        self._detail_for = None
        self._show_selected()

    def _show_status(self) -> None:
        total, shown = len(self._records), len(self._shown)
        if not total:
            status = Text(NO_REQUESTS, "dim")
        elif self._filter:
            status = Text(f"{shown:,} of {total:,} requests match ", "dim")
            status.append(self._filter.describe(), "bold")
            status.append(" · / change · Esc clear", "dim")
        else:
            status = Text(f"{total:,} requests · / filter · R replay · C copy as curl", "dim")
        self.query_one("#requests-status", Static).update(status)

    def _show_selected(self) -> None:
        record = self.selected
        detail = self.query_one(RequestDetail)
        detail.display = record is not None
        if record is None:
            self._detail_for = None
            return
        key = (str(record.id), self.revealed == str(record.id))
        if key != self._detail_for:
            self._detail_for = key
            self._fill_detail(record, key[1])

    @work(exclusive=True, group="request-detail")
    async def _fill_detail(self, record: Any, reveal: bool) -> None:
        error = self._errors.get(str(record.id))
        view = self.query_one(RequestDetail)
        view.show(render_detail(record, None, error, root=self._root).append("\nloading headers and body…", "dim"))
        try:
            full = await self._load(str(record.id), reveal)
        except Exception as e:  # noqa: BLE001  the worker went away, a timeout: say so in place
            view.show(render_detail(record, None, error, root=self._root).append(f"\nCould not load the request: {e}", "yellow"))
            return
        view.show(render_detail(record, full, error, revealed=reveal and full is not None, root=self._root))

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
        self.show(self._records, self._errors)

    @on(Input.Submitted, "#requests-filter")
    def _filter_submitted(self) -> None:
        self.query_one(RequestList).focus()

    def key_escape(self) -> None:
        box = self.query_one("#requests-filter", Input)
        if box.display or self._filter:
            box.value = ""
            box.display = False
            self._filter = RequestFilter()
            self.show(self._records, self._errors)
            self.query_one(RequestList).focus()
