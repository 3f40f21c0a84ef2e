"""Each console evaluation is one audit record, its code redacted by the name rule set (issue 13)."""

from __future__ import annotations

import pytest

from debugdash.core.audit import AuditLog
from debugdash.protocol.session_events import Evaluated
from debugdash.protocol.redact import REDACTED, is_secret_name, redact_assignments


@pytest.mark.parametrize(
    "code, shown",
    [
        ('login(password="hunter2")', f"login(password={REDACTED})"),
        ("headers['Authorization'] = f'Bearer {t}'", f"headers['Authorization'] = {REDACTED}"),
        ('{"api_key": "k-123", "n": 1}', f'{{"api_key": {REDACTED}, "n": 1}}'),
        ("app.config['SECRET_KEY'] == b'xyz'", f"app.config['SECRET_KEY'] == {REDACTED}"),
        ("session_id: abc123", f"session_id: {REDACTED}"),
        ("order['total'] * 2", "order['total'] * 2"),
        ("user.password", "user.password"),  # reading a secret is not writing one down
    ],
)
def test_values_given_to_secret_names_are_redacted(code: str, shown: str) -> None:
    assert redact_assignments(code) == shown


def test_secret_names() -> None:
    assert all(map(is_secret_name, ["DB_PASSWORD", "X-Api-Key", "csrf_token", "Cookie", "client_secret"]))
    assert not any(map(is_secret_name, ["order", "total", "user_id", "passenger"]))


def test_an_evaluation_is_one_line_with_user_occurrence_frame_error_and_code(tmp_path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    event = Evaluated(
        user="dev", occurrence="4242-7", error="KeyError: 'zone'", frame="app.py:12 in checkout",
        code=redact_assignments('x = order["total"]\nlogin(password="hunter2")'),
    )
    assert log.record(event)
    fields = (tmp_path / "audit.log").read_text().rstrip("\n").split("\t")
    assert fields[1:5] == ["dev", "eval", "4242-7", "app.py:12 in checkout"]
    assert fields[5] == f"KeyError: 'zone' | x = order[\"total\"] ⏎ login(password={REDACTED})"
    assert "hunter2" not in (tmp_path / "audit.log").read_text()
