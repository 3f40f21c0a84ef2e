"""The reload floor: a fresh interpreter that imports the app, binds the port and serves.

Any reloader that restarts the process pays at least this; nothing here
detects a change or talks to a supervisor. Usage: python floor.py PORT (cwd: the app's directory).
"""

import os
import sys

sys.path.insert(0, os.getcwd())

from werkzeug.serving import make_server  # noqa: E402

from bench_app import app  # noqa: E402

make_server("127.0.0.1", int(sys.argv[1]), app, threaded=True).serve_forever()
