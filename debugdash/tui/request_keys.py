"""The dashboard's request keys: replay (``R``), copy as curl (``C``), verify fixes
on reload (``v``), reveal one request's secrets (palette), and the refused inbox's
grant and trust-host. A mixin of ``DashboardApp``; each calls the Supervisor
coroutine that ``debugdash replay/curl/trust-host`` reaches through the control socket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.widgets import TabbedContent

from debugdash.protocol.text import display_text
from debugdash.tui.screens.confirm import ConfirmScreen
from debugdash.tui.screens.grant import GrantScreen
from debugdash.tui.widgets.errors_pane import ErrorsPane
from debugdash.tui.widgets.refused import RefusedInbox
from debugdash.tui.widgets.requests import target
from debugdash.tui.widgets.requests_pane import RequestsPane


class RequestKeys:
    """Actions on requests; mixed into the App (``sup``, ``notify``, ``_control`` come from it)."""

    # From App and DashboardApp (annotations only: the App's own methods are used).
    sup: Any
    notify: Callable[..., None]
    query_one: Callable[..., Any]
    push_screen: Callable[..., Any]
    copy_to_clipboard: Callable[[str], None]
    action_show_tab: Callable[[str], None]
    _control: Callable[..., None]
    _mark: Callable[..., None]

    def _request_in_view(self) -> tuple[int, str, str] | None:
        """(id, method, what to call it) of the highlighted request, or of the
        highlighted error group's last request on the Errors tab; None, said, if neither."""
        tab = self.query_one(TabbedContent).active
        if tab == "errors":
            group = self.query_one(ErrorsPane).highlighted_group()
            if group is None or not group.latest.request_id:
                self.notify("Highlight an error group whose request is known (Errors tab), or use the Requests tab (6).", severity="warning")
                return None
            event = group.latest
            return event.request_id, event.method, f"{event.method} {display_text(event.path, 60)}"
        record = self.query_one(RequestsPane).selected
        if tab != "requests" or record is None:
            self.notify("Highlight a request on the Requests tab (6) or an error group (1) first.", severity="warning")
            return None
        return record.id, record.method, f"{record.method} {display_text(target(record), 60)}"

    def action_replay(self) -> None:
        found = self._request_in_view()
        if found is None:
            return
        request_id, method, label = found
        if not self.sup.requests.needs_confirmation(request_id):
            self._control(self._replay(request_id, label, confirmed=False))
            return
        question = Text.assemble(("Replay ", ""), (label, "bold"), ("?\n", ""), (f"A {method} may change data on the server: it is sent again with its real body and credentials.", "dim"))

        def answered(yes: bool | None) -> None:
            if yes:
                self._control(self._replay(request_id, label, confirmed=True))

        self.push_screen(ConfirmScreen(question, "Replay"), answered)

    async def _replay(self, request_id: int, label: str, *, confirmed: bool) -> None:
        self.notify(f"Replaying {label}…", timeout=3, markup=False)  # a slow route takes a while to answer
        result = await self.sup.requests.replay(request_id, confirmed=confirmed)
        if result.status == 0:
            self.notify(f"{label}: no response ({result.message})", title="Replay", severity="error", markup=False)
            return
        outcome = " and raised (see Errors)" if result.raised else ""
        severity = "error" if result.failed or result.raised else "information"
        self.notify(f"{label} → {result.status} {result.reason}{outcome}", title="Replayed", severity=severity, markup=False)

    def action_copy_curl(self) -> None:
        found = self._request_in_view()
        if found is not None:
            self._control(self._copy_curl(found[0], found[2]))

    async def _copy_curl(self, request_id: int, label: str) -> None:
        pane = self.query_one(RequestsPane)
        revealed = pane.revealed == request_id
        command = await self.sup.requests.curl(request_id, reveal=revealed)
        self.copy_to_clipboard(command)
        secrets = "with its secrets (revealed)" if revealed else "secrets redacted"
        self.notify(f"{label} copied as curl, {secrets}.", markup=False)

    def action_toggle_verify(self) -> None:
        on = not self.sup.requests.verify_on_reload
        self.sup.requests.set_verify_on_reload(on)
        self.notify(
            "Verify fixes on reload: on. After each reload, failing GET/HEAD groups are replayed once."
            if on else "Verify fixes on reload: off.",
            markup=False,
        )

    def action_reveal_request(self) -> None:
        pane = self.query_one(RequestsPane)
        record = pane.selected
        if self.query_one(TabbedContent).active != "requests" or record is None:
            self.action_show_tab("requests")
            self.notify("Highlight a request, then reveal its secrets again from the palette.", severity="warning")
            return
        if pane.revealed == record.id:
            pane.reveal(None)
            self.notify("Secrets hidden again.")
        else:
            pane.reveal(record.id)
            self.notify(f"Secrets of request {record.id} shown on screen (only this one; C copies them too).", severity="warning")

    def action_filter_requests(self) -> None:
        self.action_show_tab("requests")
        self.query_one(RequestsPane).action_filter()

    def action_trust_host(self) -> None:
        self.action_show_tab("access")
        self.query_one(RefusedInbox).action_trust_row()

    def on_refused_inbox_grant_asked(self, message: RefusedInbox.GrantAsked) -> None:
        def granted(entry: Any) -> None:
            if entry is not None:
                self._mark("access", "status")

        self.push_screen(GrantScreen(self.sup.grant, message.address), granted)

    def on_refused_inbox_trust_asked(self, message: RefusedInbox.TrustAsked) -> None:
        self._control(self._trust(message.host))

    async def _trust(self, host: str) -> None:
        self.sup.requests.trust_host(host)  # UserInputError for a malformed name: _control shows it
        self.notify(f"{display_text(host, 80)} is trusted for this session: the debugger answers requests that use it.", markup=False)
        self._mark("access")

