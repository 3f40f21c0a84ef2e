"""The in-server agent, run inside the Flask server's own Python as
``python -m debugdash.agent flask|script ...``; it imports only protocol (plus the
standard library and the app's Werkzeug and Flask, debugpy for attach).

It reports events over the supervisor's socket and enforces the debugger gate.
"""
