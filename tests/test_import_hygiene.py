"""The wall between layers: the engine and the in-server agent never pull in the UI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import REPO_ROOT


def _modules_after_import(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import debugdash.core.supervisor, debugdash.core.control, debugdash.core.settings, debugdash.core.state",
        "import debugdash.headless",
        "import debugdash.agent.__main__",
    ],
)
def test_engine_and_agent_never_import_textual(statement: str) -> None:
    modules = _modules_after_import(statement)
    assert "debugdash.core" in modules or "debugdash.agent" in modules or "debugdash.headless" in modules
    assert not {m for m in modules if m == "textual" or m.startswith("textual.")}


def test_agent_never_imports_the_supervisor_or_asyncio_machinery() -> None:
    modules = _modules_after_import("import debugdash.agent.__main__")
    assert "debugdash.agent" in modules
    forbidden = {"debugdash.core.supervisor", "debugdash.core.control", "debugdash.core.settings", "psutil", "click"}
    assert not (modules & forbidden)


def test_protocol_imports_nothing_of_debugdash_and_only_the_standard_library() -> None:
    modules = _modules_after_import(
        "import debugdash.protocol.events, debugdash.protocol.commands, debugdash.protocol.control, "
        "debugdash.protocol.codec, debugdash.protocol.env, debugdash.protocol.addresses, "
        "debugdash.protocol.peers, debugdash.protocol.clock, debugdash.protocol.text"
    )
    ours = {m for m in modules if m.startswith("debugdash.")}
    assert ours and all(m.startswith("debugdash.protocol") for m in ours), sorted(ours)
    third_party = {m.split(".")[0] for m in modules} - set(sys.stdlib_module_names) - {"debugdash", "sitecustomize", "_distutils_hack"}
    assert not {m for m in third_party if not m.startswith("_")}, sorted(third_party)


def test_agent_imports_only_protocol_of_debugdash() -> None:
    modules = _modules_after_import("import debugdash.agent.__main__, debugdash.agent.hooks, debugdash.agent.link")
    ours = {m for m in modules if m.startswith("debugdash.")}
    assert any(m.startswith("debugdash.agent.") for m in ours)
    assert all(m.startswith(("debugdash.agent", "debugdash.protocol")) for m in ours), sorted(ours)


def test_a_server_loads_its_consoles_with_the_first_console_query_not_at_start() -> None:
    # Every server's start would pay for them (issue 15); tests/e2e/test_console.py shows they still answer.
    modules = _modules_after_import(
        "import flask.cli, werkzeug.serving\n"
        "from debugdash.agent import guard, hooks, link, output, runtime\n"
        "import debugdash.agent.__main__"
    )
    assert "debugdash.agent.runtime" in modules
    assert not modules & {"debugdash.agent.evaluation", "debugdash.agent.console", "debugdash.protocol.console"}


def test_a_server_loads_its_error_capture_with_the_first_error_not_at_start() -> None:
    # ~3 ms of every server's start (issue 15: capture, statements, reprs); the
    # tests of failing requests and load errors (tests/agent, tests/e2e) show they are still captured.
    modules = _modules_after_import(
        "import flask.cli, werkzeug.serving\n"
        "from debugdash.agent import guard, hooks, link, output, runtime\n"
        "import debugdash.agent.__main__"
    )
    assert "debugdash.agent.request_errors" in modules and "debugdash.agent.load_errors" in modules
    assert not modules & {"debugdash.agent.capture", "debugdash.agent.statements", "debugdash.agent.reprs"}


def test_the_console_messages_known_before_their_module_are_exactly_its_queries_and_replies() -> None:
    from debugdash.protocol import codec, commands, console, events

    queries = {c.name for c in vars(console).values() if isinstance(c, type) and issubclass(c, commands.Query) and c.__module__ == console.__name__}
    replies = {c.name for c in vars(console).values() if isinstance(c, type) and issubclass(c, events.Reply) and c.__module__ == console.__name__}
    assert set(codec.COMMANDS.deferred) == queries and set(codec.EVENTS.deferred) == replies
    assert all(codec.COMMANDS.classes[name].__module__ == console.__name__ for name in queries)
