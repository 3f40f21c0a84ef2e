"""The one rule set for secrets in requests and tracebacks, used by every face.

Error trackers scrub by name, and so does debugdash: header values of the
credential headers, and every query parameter, form field, JSON key, cookie
and traceback local whose name looks like a secret (password, passwd, secret,
token, api key, session, csrf, auth) are shown as ``[redacted]``. Real values
stay in the supervisor's memory for replay only; the screen, ``--json``,
``requests --json``, ``curl``, the audit log and ``status`` get these forms.

Standard library only: the agent uses ``is_secret_name`` on traceback locals.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import parse_qsl, quote

REDACTED = "[redacted]"

#: Headers whose value is a credential whatever it is called.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-auth-token",
        "x-csrf-token",
        "x-xsrf-token",
        "x-amz-security-token",
    }
)

# "passwd", "password", "pwd", "secret", "token", "api key" in any spelling, "session",
# "csrf"/"xsrf", "auth" (authorization, oauth_...), "credential", "private key".
_SECRET_NAME = re.compile(
    r"passw(or)?d|pwd|secret|token|api[-_ ]?key|apikey|session|[cx]srf|auth|credential|private[-_ ]?key",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)  # the same local and field names come again and again
def is_secret_name(name: str) -> bool:
    """True when a field, key, header or variable called ``name`` holds a secret by its name."""
    return _SECRET_NAME.search(name) is not None


def is_secret_header(name: str) -> bool:
    return name.lower() in SECRET_HEADERS or is_secret_name(name)


def redact_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with the value of each secret header replaced."""
    return [(name, REDACTED if is_secret_header(name) else value) for name, value in headers]


def redact_query(query: str) -> str:
    """A query string (or url-encoded form) with the values of secret-named fields replaced.

    Fields keep their order and the rest keeps its spelling, so the result reads
    (and replays) as the original did.
    """
    if not query or (_SECRET_NAME.search(query) is None and "%" not in query and "+" not in query):
        return query  # the common case: nothing to look at closely (an encoded name is decoded below)
    parts = []
    for part in query.split("&"):
        name, sep, _value = part.partition("=")
        decoded = next(iter(parse_qsl(name, keep_blank_values=True)), (name, ""))[0] if name else ""
        if sep and is_secret_name(decoded or name):
            parts.append(f"{name}={quote(REDACTED)}")
        else:
            parts.append(part)
    return "&".join(parts)


def redact_json_value(value: Any) -> Any:
    """A JSON value with the values under secret-named keys replaced, at every depth."""
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and is_secret_name(k) else redact_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json_value(v) for v in value]
    return value


# A "key": "value" pair in text that is not valid JSON (cut at 64 KB, or broken).
_JSON_PAIR = re.compile(r'"([^"\\]{1,200})"(\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)')


def redact_body(body: str, content_type: str) -> str:
    """A request body as text, with secret form fields, JSON keys and multipart fields replaced."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return redact_query(body)
    if kind.startswith("multipart/"):
        return _redact_multipart(body)
    if kind == "application/json" or kind.endswith("+json") or body.lstrip()[:1] in ("{", "["):
        try:
            return json.dumps(redact_json_value(json.loads(body)), ensure_ascii=False)
        except ValueError:
            return _JSON_PAIR.sub(_redact_pair, body)
    return body


def _redact_pair(match: re.Match[str]) -> str:
    key, colon, _value = match.groups()
    return f'"{key}"{colon}"{REDACTED}"' if is_secret_name(key) else match.group()


# One multipart part: its name in the headers, then a blank line, then the value up to the boundary.
_MULTIPART_FIELD = re.compile(r'(name="([^"]*)"[^\r\n]*(?:\r?\n[^\r\n]+)*\r?\n\r?\n)(.*?)(?=\r?\n--)', re.DOTALL)


def _redact_multipart(body: str) -> str:
    return _MULTIPART_FIELD.sub(lambda m: m.group(1) + (REDACTED if is_secret_name(m.group(2)) else m.group(3)), body)

