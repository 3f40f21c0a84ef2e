"""Which names hold secrets, and hiding their values in text that is kept or shown.

One rule set by name: a password, token, secret, API key, authorization header,
cookie or session id is never written down, whoever wrote it — the app's locals
and headers, or the developer's own code typed into the console (the audit log
records each evaluation with its code, and a ``password="..."`` typed there must
not end up in a file).

Standard library only, like the rest of ``protocol``.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"

#: Words that make a name a secret's ("db_password", "X-Api-Key", "csrf_token", "SECRET_KEY").
_SECRET_WORDS = r"pass(?:word|wd|phrase)?|secret|token|api[-_]?key|auth(?:orization)?|cookie|session[-_]?id|credentials?|private[-_]?key"
# A secret word as a word of the name: after a separator, at the start, or at a camelCase
# hump ("accessToken"), and not running on into a longer word ("passenger", "tokenizer").
_SECRET_WORD = rf"(?:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))(?i:{_SECRET_WORDS})s?(?![a-z])"
_SECRET_NAME = re.compile(_SECRET_WORD)

# A name holding a secret word, written as a Python name, a keyword argument, a dict
# key or a header (optionally quoted and subscripted), then `=`, `:` or `==`, then its value:
# a string literal or a run of characters up to the next delimiter.
_ASSIGNMENT = re.compile(
    rf"""
    (?P<name>[\w-]*{_SECRET_WORD}[\w-]*["']?\]?)
    (?P<op>\s*(?:==|=|:)\s*)
    (?P<value>[rbufRBUF]{{0,2}}"(?:[^"\\\n]|\\.)*"|[rbufRBUF]{{0,2}}'(?:[^'\\\n]|\\.)*'|[^\s,)\]}};#]+)
    """,
    re.VERBOSE,
)


def is_secret_name(name: str) -> bool:
    """True when ``name`` (a variable, field or header name) says it holds a secret."""
    return _SECRET_NAME.search(name) is not None


def redact_assignments(text: str) -> str:
    """``text`` with the value given to every secret-named name replaced by ``<redacted>``.

    ``login(password="hunter2")`` becomes ``login(password=<redacted>)``;
    ``headers["Authorization"] = f"Bearer {t}"`` keeps its shape likewise.
    """
    return _ASSIGNMENT.sub(lambda m: f"{m.group('name')}{m.group('op')}{REDACTED}", text)
