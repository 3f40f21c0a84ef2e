"""The tools `debugdash mcp` offers: reading the session, acting on the server
(never on who may reach a debugger), and the refusals that say what the human
would run. Descriptions are written for the agent that reads them.
"""

from __future__ import annotations

import time
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from debugdash.mcp import refusals, render
from debugdash.mcp.calls import Done, Refused, run
from debugdash.mcp.link import SessionLink
from debugdash.core.errors import UserInputError
from debugdash.protocol.control import TOGGLES, Restart, Status, Toggle
from debugdash.protocol.observe import MAX_LOG_LINES, MAX_RELOAD_WAIT, ErrorDetail, Logs, Reloads, WaitForReload

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
ACT = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
NEVER = ToolAnnotations(read_only_hint=True, open_world_hint=False)

GroupId = Annotated[str | None, Field(description="An error group id from the errors tool; leave out for the newest failure.")]


def register(server: MCPServer, link: SessionLink) -> None:
    """Add the reading, acting and refusing tools of the session behind ``link``."""

    async def status() -> str:
        async def work(_: float | None) -> Done:
            answer = await link.ask(Status())
            reloads = await link.ask(Reloads())
            data = render.status(answer, reloads[0] if reloads else None, time.time())
            return Done(render.as_json(data), f"{answer.phase} {answer.url}")

        return await run(link, "status", {}, work)

    async def error(group: GroupId = None) -> str:
        async def work(_: float | None) -> Done:
            detail = await link.ask(ErrorDetail(group=group))
            raised = detail.chain[-1].type if detail.chain else "error"
            return Done(render.failure(detail), f"{raised} {detail.method} {detail.path}")

        return await run(link, "error", {"group": group}, work)

    async def logs(
        tail: Annotated[int, Field(ge=1, le=MAX_LOG_LINES, description="How many of the newest lines (matching ones, with search).")] = 100,
        search: Annotated[str | None, Field(description="Only lines containing this text, any case.")] = None,
    ) -> str:
        async def work(_: float | None) -> Done:
            answer = await link.ask(Logs(tail=tail, search=search))
            return Done(render.logs(answer, search), f"{len(answer.lines)} lines")

        return await run(link, "logs", {"tail": tail, "search": search}, work)

    async def reloads(
        limit: Annotated[int, Field(ge=1, le=50, description="How many of the newest reloads.")] = 10,
    ) -> str:
        async def work(_: float | None) -> Done:
            found = (await link.ask(Reloads()))[:limit]
            now = time.time()
            return Done(render.as_json([render.reload(info, now) for info in found]), f"{len(found)} reloads")

        return await run(link, "reloads", {"limit": limit}, work)

    async def wait_for_reload(
        timeout: Annotated[float, Field(ge=1, le=MAX_RELOAD_WAIT, description="Seconds to wait at most.")] = 60,
    ) -> str:
        async def work(previous: float | None) -> Done:
            outcome = await link.ask(WaitForReload(timeout=timeout, since=previous), timeout=timeout + 15)
            return Done(render.as_json(render.outcome(outcome)), f"{outcome.outcome} {outcome.filename}".strip())

        return await run(link, "wait_for_reload", {"timeout": timeout}, work)

    async def restart() -> str:
        async def work(_: float | None) -> Done:
            began = time.time()
            await link.ask(Restart())
            outcome = await link.ask(WaitForReload(timeout=60, since=began), timeout=75)
            return Done(render.as_json(render.outcome(outcome)), outcome.outcome)

        return await run(link, "restart", {}, work)

    async def toggle(
        name: Annotated[str, Field(description='"debugger", "reloader", "debug" or "attach".')],
        state: Annotated[str, Field(description='"on" or "off".')],
    ) -> str:
        async def work(_: float | None) -> Done:
            if name not in TOGGLES or state not in ("on", "off"):
                raise UserInputError(f'toggle takes a name ({", ".join(TOGGLES)}) and a state ("on" or "off")')
            why = refusals.toggle(name, state == "on")
            if why is not None:
                raise Refused(why)
            switched = await link.ask(Toggle(name=name, state=state == "on"))
            text = f"{switched.name} {'on' if switched.on else 'off'}"
            return Done(text, text)

        return await run(link, "toggle", {"name": name, "state": state}, work)

    async def grant_access(
        address: Annotated[str, Field(description="The address or network to let reach the debugger.")],
        minutes: Annotated[float | None, Field(description="For how long.")] = None,
        what: Annotated[str | None, Field(description='"debugger", "attach" or "both".')] = None,
    ) -> str:
        async def work(_: float | None) -> Done:
            raise Refused(refusals.grant(address, minutes, what))

        return await run(link, "grant_access", {"address": address, "minutes": minutes, "what": what}, work)

    async def revoke_access(
        address: Annotated[str | None, Field(description="The address or network; leave out for every grant.")] = None,
    ) -> str:
        async def work(_: float | None) -> Done:
            raise Refused(refusals.revoke(address))

        return await run(link, "revoke_access", {"address": address}, work)

    async def debugger_pin() -> str:
        async def work(_: float | None) -> Done:
            raise Refused(refusals.pin())

        return await run(link, "debugger_pin", {}, work)

    async def new_pin() -> str:
        async def work(_: float | None) -> Done:
            raise Refused(refusals.new_pin())

        return await run(link, "new_pin", {}, work)

    tools = [
        (status, READ, "The session now: app, URL, phase (starting/running/reloading/crashed/stopped), "
         "switches, the last reload, remote grants with seconds left, and what the human allows agents. Never the PIN."),
        (error, READ, "The newest occurrence of an error group as markdown: the request, the exception chain "
         "(root cause first), every frame with its source and the frame's locals (secrets redacted). "
         "Without a group: the newest failure."),
        (logs, READ, "The server's output (stdout and stderr, escape codes removed): the newest lines, "
         "or with search only the lines that contain it."),
        (reloads, READ, "Recent reloads, newest first: the file that changed, when, and whether the new code "
         "served (with how long it took) or failed to load (with the error)."),
        (wait_for_reload, ACT, "Wait until the server has reloaded after your edit, then say how it went: "
         '"ready" (the new code serves), "load_error" (with the message), "crashed" or "timeout". '
         "A reload that began after your previous debugdash tool call counts even if it already finished, "
         "so edit, then call this, then check the failing request."),
        (restart, ACT, "Restart the development server and wait until it serves (or fails to load)."),
        (toggle, ACT, "Switch the reloader on or off, or the debugger or debug mode off. Turning anything "
         "on that lets someone reach a debugger (debugger on, debug on, attach) is refused: that stays with the human."),
        (grant_access, NEVER, "Refused on purpose: granting an address access to the debugger stays with the human. "
         "Calling it returns the command to ask the human to run."),
        (revoke_access, NEVER, "Refused on purpose: grants are the human's to give and take. "
         "Calling it returns the command to ask the human to run."),
        (debugger_pin, NEVER, "Refused on purpose: the debugger PIN is never given to an agent. "
         "Use the error tool to see frames and locals instead."),
        (new_pin, NEVER, "Refused on purpose: changing the debugger PIN stays with the human."),
    ]
    for fn, annotations, description in tools:
        server.add_tool(fn, description=description, annotations=annotations, structured_output=False)
