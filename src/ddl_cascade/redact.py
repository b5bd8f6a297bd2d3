"""Credential redaction for every log line, error and JSON document ddl-cascade prints.

A URL's password (or an http(s) user name standing alone, which is how tokens are usually passed) becomes `***`:
`https://x-access-token:ghp_abc@github.com/o/r.git` prints as `https://x-access-token:***@github.com/o/r.git`.
"""

from __future__ import annotations

import re
from typing import Any

# scheme://user:password@  or  http(s)://token@
_USER_PASS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<secret>[^@/\s]+)@")
_HTTP_TOKEN = re.compile(r"(?P<scheme>https?://)(?P<secret>[^:/@\s]+)@", re.IGNORECASE)


def redact(text: str) -> str:
    """Return `text` with every credential inside a URL replaced by `***`."""
    if "@" not in text:
        return text
    text = _USER_PASS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _HTTP_TOKEN.sub(lambda m: f"{m['scheme']}***@", text)


def redact_data(value: Any) -> Any:
    """Redact every string inside a JSON-like structure."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value
