"""The environment variables through which the supervisor configures the agent
inside the server it starts.

Standard library only: the agent imports this inside someone else's server.
"""

SOCKET_ENV = "DEBUGDASH_SOCKET"
TOKEN_ENV = "DEBUGDASH_TOKEN"
#: Where the agent finds a debugpy to import when the app's environment has none.
DEBUGPY_PATH_ENV = "DEBUGDASH_DEBUGPY_PATH"
#: Script mode: the host and port that override the script's own app.run() arguments.
HOST_ENV = "DEBUGDASH_HOST"
PORT_ENV = "DEBUGDASH_PORT"
#: "1" or "0": the reloader on or off, whatever app.run() or flask's flags say.
RELOAD_ENV = "DEBUGDASH_RELOAD"
#: Set for a warm spare worker: import what every worker needs, then wait for a
#: line on stdin before connecting and loading the app.
SPARE_ENV = "DEBUGDASH_SPARE"
#: The pid of the process that started this server (debugdash, or the agent of a
#: reloader parent): the parent-death signal is armed only while it still lives.
PARENT_PID_ENV = "DEBUGDASH_PARENT_PID"
#: The read end of a pipe only debugdash writes to: end of file means debugdash is gone.
GUARD_FD_ENV = "DEBUGDASH_GUARD_FD"
#: The uid of the user who runs debugdash: loopback peers of that user count as local.
OWNER_UID_ENV = "DEBUGDASH_UID"
#: Set for a template: the number of the socket on which debugdash asks it to fork workers.
TEMPLATE_FD_ENV = "DEBUGDASH_TEMPLATE_FD"
#: A template's comma-separated top-level packages not to preload (they made a template unsafe to fork).
TEMPLATE_EXCLUDE_ENV = "DEBUGDASH_TEMPLATE_EXCLUDE"
#: Where a worker lists the library modules it loaded, for the next template to preload.
PRELOAD_FILE_ENV = "DEBUGDASH_PRELOAD_FILE"
