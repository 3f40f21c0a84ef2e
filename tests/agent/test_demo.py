"""The bundled demo app, through Flask's own test client."""

from __future__ import annotations

import pytest

from debugdash.demo.app import ROUTES, app


@pytest.fixture
def client():
    app.testing = True  # errors propagate, so each failure can be checked by type
    try:
        yield app.test_client()
    finally:
        app.testing = False


def test_index_links_every_route(client) -> None:
    page = client.get("/").get_data(as_text=True)
    for path in ROUTES:
        assert f'href="{path}"' in page


@pytest.mark.parametrize(
    "path, error",
    [("/divide", ZeroDivisionError), ("/template-key", KeyError), ("/chained", RuntimeError)],
)
def test_failing_routes_raise(client, path, error) -> None:
    with pytest.raises(error):
        client.get(path)


def test_chained_route_raises_from_its_cause(client) -> None:
    with pytest.raises(RuntimeError) as info:
        client.get("/chained")
    assert isinstance(info.value.__cause__, ValueError)


def test_stream_fails_after_some_rows(client) -> None:
    response = client.get("/stream", buffered=False)
    chunks = []
    with pytest.raises(ConnectionError):
        for chunk in response.response:
            chunks.append(chunk)
    assert b"".join(chunks).startswith(b"row 0\n")


def test_benchmark_routes(client, capsys, caplog) -> None:
    assert client.get("/json").get_json() == {"ok": True}
    assert client.get("/ok").get_data(as_text=True) == "ok\n"
    assert client.get("/flood?n=1000").get_data(as_text=True) == "printed 1000 lines\n"
    assert capsys.readouterr().out.count("\n") == 1000
    assert client.get("/log?n=7").get_data(as_text=True) == "logged 7 lines\n"
    assert [r.getMessage() for r in caplog.records][-1] == "demo log line 7 of 7"
