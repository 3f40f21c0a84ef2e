"""The app every benchmark scenario serves, under plain `flask run` and under debugdash alike.

Routes: a tiny JSON response (throughput), a route that raises (error path),
a version string the reload scenario rewrites, and an output flood.
"""

import sys

from flask import Flask, jsonify, request

#: Rewritten by the reload scenario; the response proves which code is serving.
VERSION = "0"

app = Flask(__name__)


@app.get("/json")
def small_json():
    return jsonify(ok=True, items=[1, 2, 3], name="bench")


@app.get("/boom")
@app.get("/boom/<int:n>")
def boom(n=0):
    values = {"n": n, "label": "bench"}
    raise RuntimeError(f"bench failure {values['n']}")


@app.get("/version")
def version():
    return VERSION


@app.get("/flood")
def flood():
    """Print ``n`` lines as fast as Python can, then a marker line, flushed."""
    n = int(request.args.get("n", "1000000"))
    tag = request.args.get("tag", "x")
    write = sys.stdout.write
    for i in range(n):
        write(f"flood {tag} line {i:07d} the quick brown fox jumps over the lazy dog\n")
    write(f"FLOOD-DONE {tag}\n")
    sys.stdout.flush()
    return "done"
