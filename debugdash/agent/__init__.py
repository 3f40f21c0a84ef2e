"""The in-server agent: runs inside the Flask development server's own Python.

Started by the supervisor as ``python -m debugdash.agent flask <flask args>`` or
``python -m debugdash.agent script <file.py> [args]``. It reports events over the
supervisor's socket and enforces the debugger gate. Standard library plus the
app environment's Werkzeug and Flask (debugpy only for attach); it never imports
Textual nor the supervisor.
"""
