"""A second Unix user on this machine, and running test code as that user.

Creating users needs root; tests that use ``other_user`` are skipped otherwise.
Code runs as the user in a forked child (setgid/setuid), so it needs no access
to this checkout or its virtualenv; its result comes back as JSON.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` as this user; its JSON-able result, or AssertionError with the child's error."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
                try:
                    data = json.dumps({"result": fn(*args)})
                except BaseException as e:  # noqa: BLE001 - reported to the parent
                    data = json.dumps({"error": f"{type(e).__name__}: {e}"})
                with os.fdopen(write_end, "w") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end) as incoming:
            data = incoming.read()
        os.waitpid(pid, 0)
        answer = json.loads(data or '{"error": "the child died"}')
        if "error" in answer:
            raise AssertionError(f"as {self.name}: {answer['error']}")
        return answer["result"]


@pytest.fixture
def other_user() -> Iterator[User]:
    """A fresh unprivileged user, removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("creating a second Unix user needs root")
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        pytest.skip("useradd/userdel are not installed")
    name = f"ddsec{secrets.token_hex(4)}"
    subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name], check=True, capture_output=True)
    try:
        import pwd

        entry = pwd.getpwnam(name)
        assert entry.pw_uid != os.getuid()
        yield User(name, entry.pw_uid, entry.pw_gid)
    finally:
        subprocess.run(["userdel", name], capture_output=True)
