"""The tools over error groups and requests (issues 12 and 13): list them, look at
one, send a request again to check a fix, and — only when the human started the
session with ``--mcp-allow-eval`` — evaluate in a failed request's kept frame.

Replays are GET and HEAD only unless the human started the session with
``--mcp-allow-unsafe-replay``: another method may change data. Both switches are
read from the session at each call, so a session started again without them
takes the permission back.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from debugdash.core.errors import UserInputError
from debugdash.mcp import render
from debugdash.mcp.calls import Done, Refused, run
from debugdash.mcp.link import SessionLink
from debugdash.mcp.tools import ACT, READ
from debugdash.protocol.console import Errors, Eval
from debugdash.protocol.control import Curl, Replay, Requests, Status
from debugdash.protocol.request_events import RequestRecord

#: Methods an agent may replay without the human's --mcp-allow-unsafe-replay.
SAFE_REPLAY = ("GET", "HEAD")
#: Longest evaluation before it is interrupted (a loop in the frame must not hold the server).
EVAL_TIMEOUT = 10.0


def register(server: MCPServer, link: SessionLink, *, allow_eval: bool) -> None:
    async def errors() -> str:
        async def work(_: float | None) -> Done:
            groups = await link.ask(Errors())
            return Done(render.as_json([render.error_group(g) for g in groups]), f"{len(groups)} groups")

        return await run(link, "errors", {}, work)

    async def requests(
        status: Annotated[str | None, Field(description='Only this status: "500", or a class such as "5xx" or "4xx".')] = None,
        path: Annotated[str | None, Field(description="Only requests whose path contains this text.")] = None,
        limit: Annotated[int, Field(ge=1, le=500, description="How many of the newest matching requests.")] = 20,
    ) -> str:
        async def work(_: float | None) -> Done:
            every = status is not None or path is not None
            records = await link.ask(Requests(limit=None if every else limit))
            found = [r for r in records if _matches(r, status, path)][:limit]
            return Done(render.as_json([render.request_record(r) for r in found]), f"{len(found)} requests")

        return await run(link, "requests", {"status": status, "path": path, "limit": limit}, work)

    async def request(
        id: Annotated[int, Field(ge=1, description="The request's id, from the requests or error tool.")],
    ) -> str:
        async def work(_: float | None) -> Done:
            record = await _record(link, id)
            curl = await link.ask(Curl(id=id))
            data: dict[str, Any] = render.request_record(record)
            data["curl"] = curl.text
            return Done(render.as_json(data), f"{record.method} {record.path} {record.status}")

        return await run(link, "request", {"id": id}, work)

    async def replay(
        id: Annotated[int, Field(ge=1, description="The request's id, from the requests or error tool.")],
    ) -> str:
        async def work(_: float | None) -> Done:
            record = await _record(link, id)
            unsafe = record.method.upper() not in SAFE_REPLAY
            if unsafe and not (await _allowed(link, "mcp_allow_unsafe_replay")):
                raise Refused(
                    f"refused: request {id} is a {record.method}, and replaying it may change data. An agent replays "
                    "GET and HEAD only, unless the human started debugdash with --mcp-allow-unsafe-replay. "
                    f"Ask the human to run: debugdash replay {id} --yes"
                )
            result = await link.ask(Replay(id=id, yes=unsafe), timeout=120)
            data = render.replay(result)
            return Done(render.as_json(data), result.status_line())

        return await run(link, "replay", {"id": id}, work)

    async def eval_in_frame(
        occurrence: Annotated[str, Field(description="The occurrence id of a failed request, from the errors or error tool.")],
        code: Annotated[str, Field(description="Python to run in that frame: statements, or an expression whose value is shown.")],
        frame: Annotated[int | None, Field(description="The frame number from the errors tool; leave out for the innermost frame of the app's code.")] = None,
    ) -> str:
        async def work(_: float | None) -> Done:
            if not await _allowed(link, "mcp_allow_eval"):
                raise Refused("refused: the human started this debugdash session without --mcp-allow-eval")
            result = await link.ask(Eval(occurrence=occurrence, code=code, frame=frame, timeout=EVAL_TIMEOUT), timeout=EVAL_TIMEOUT + 30)
            return Done(render.as_json(render.evaluation(result)), "raised" if result.raised else "ok")

        return await run(link, "eval", {"occurrence": occurrence, "frame": frame, "code": code}, work)

    server.add_tool(errors, annotations=READ, structured_output=False, description=(
        "Error groups of the session, the most recent first: exception type and message, where the app raised "
        "it, how many times, the request, the newest occurrence's id and the app's frames by number. "
        "Pass a group id to the error tool for the whole traceback."))
    server.add_tool(requests, annotations=READ, structured_output=False, description=(
        "Recent requests the server answered, newest first: id, method, path, status, duration, whether it "
        "raised. Filter by status (\"500\", \"5xx\") and by a text in the path."))
    server.add_tool(request, annotations=READ, structured_output=False, description=(
        "One request: its record and a curl command that sends it again, with passwords, tokens, cookies and "
        "credential headers redacted."))
    server.add_tool(replay, annotations=ACT, structured_output=False, description=(
        "Send a recorded request again to the running server (with its real headers and body) and report "
        "the status: after a fix and wait_for_reload, a failing request that now answers 2xx is fixed. "
        "GET and HEAD only unless the human allowed more."))
    if allow_eval:
        server.add_tool(eval_in_frame, name="eval", annotations=ACT, structured_output=False, description=(
            "Run Python in the kept frame of a failed request (its locals as they were when it failed) and "
            "get what it printed and its value. Allowed because the human started the session with "
            f"--mcp-allow-eval. Interrupted after {EVAL_TIMEOUT:g} s."))


def _matches(record: RequestRecord, status: str | None, path: str | None) -> bool:
    if path is not None and path not in record.path:
        return False
    if status is None:
        return True
    wanted = status.strip().lower()
    if len(wanted) == 3 and wanted.endswith("xx"):
        return str(record.status).startswith(wanted[0])
    return str(record.status) == wanted


async def _record(link: SessionLink, request_id: int) -> RequestRecord:
    for record in await link.ask(Requests(limit=None)):
        if record.id == request_id:
            return record
    raise UserInputError(f"no request {request_id} in this session; the requests tool lists them")


async def _allowed(link: SessionLink, setting: str) -> bool:
    status = await link.ask(Status())
    return bool(status.settings.get(setting))
