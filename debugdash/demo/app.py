"""The demo app: ``flask --app debugdash.demo.app run`` or ``debugdash demo``.

Each route fails (or floods) in one way debugdash is built to show: a plain
exception, one raised inside a template, a chained one, one while streaming,
a lot of logging, and a lot of output.
"""

from __future__ import annotations

import sys

from flask import Flask, Response, jsonify, render_template, request, stream_with_context

app = Flask(__name__)

ROUTES = {
    "/divide": "ZeroDivisionError in a view",
    "/template-key": "KeyError raised while rendering a template",
    "/chained": "an exception raised from another one",
    "/stream": "an error in the middle of a streamed response",
    "/log": "logs 200 lines through app.logger",
    "/json": "a tiny JSON response",
    "/flood?n=100000": "prints n lines to stdout, as fast as possible",
    "/ok": "a plain 200",
}


@app.context_processor
def _settings() -> dict:
    # The template looks up a key this dict does not have: the KeyError is raised from the template.
    return {"settings": {"theme": "dark"}}


@app.template_filter("lookup")
def _lookup(mapping: dict, key: str) -> object:
    return mapping[key]


@app.get("/")
def index() -> str:
    return render_template("index.html", routes=ROUTES)


@app.get("/divide")
def divide() -> str:
    numerator = int(request.args.get("n", 1))
    denominator = 0
    return str(numerator / denominator)


@app.get("/template-key")
def template_key() -> str:
    return render_template("settings.html")


class _Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("this object refuses to be shown")


@app.get("/chained")
def chained() -> str:
    config = {"port": "eighty"}
    awkward = _Unprintable()  # noqa: F841  (a local whose repr raises: capture must survive it)
    try:
        port = int(config["port"])
    except ValueError as e:
        raise RuntimeError("the configured port is not a number") from e
    return str(port)


@app.get("/stream")
def stream() -> Response:
    def rows():
        for number in range(3):
            yield f"row {number}\n"
        raise ConnectionError("the data source went away mid-stream")

    return Response(stream_with_context(rows()), mimetype="text/plain")


@app.get("/log")
def log() -> str:
    count = int(request.args.get("n", 200))
    for number in range(count):
        app.logger.warning("demo log line %d of %d", number + 1, count)
    return f"logged {count} lines\n"


@app.get("/json")
def json_route() -> Response:
    return jsonify(ok=True)


@app.get("/flood")
def flood() -> str:
    count = int(request.args.get("n", 100000))
    write = sys.stdout.write
    for number in range(count):
        write(f"flood line {number}\n")
    sys.stdout.flush()
    return f"printed {count} lines\n"


@app.get("/ok")
def ok() -> str:
    return "ok\n"


if __name__ == "__main__":
    app.run(debug=True)
