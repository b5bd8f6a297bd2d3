"""Credential redaction for every log line, error and JSON document ddl-cascade prints.

Every secret becomes `***`, in each form a URL or libpq carries one:

- a URL's password: `https://x-access-token:ghp_abc@github.com/o/r.git` prints as
  `https://x-access-token:***@github.com/o/r.git`. The user part ends at the authority's *last* `@`, so a password
  with an `@` that is not percent-encoded (`postgresql://app:p@ss@db/x`) is hidden whole;
- an http(s) user name standing alone, which is how tokens are usually passed: `https://ghp_abc@github.com/...`;
- a password in a URL's query string, libpq's `?password=...` (or `&password=`, `sslpassword=`);
- a libpq key=value connection string's `password=secret` or `password = 'se cret'` (quotes and backslash
  escapes as libpq reads them), and `PGPASSWORD=...`.

It runs on every output line, so a line with neither an `@` nor "password" is returned after two substring tests.
"""

from __future__ import annotations

import re
from typing import Any

# scheme://userinfo@ where the authority (up to the first / ? # or whitespace) holds an @: the user info runs to the
# authority's last @. `user:password` keeps `user`; a lone user name is a token only for http(s).
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@")
# libpq's URL query parameters, up to the next & or # (percent-encoded values hold no raw separator).
_QUERY = re.compile(r"(?P<key>[?&](?:ssl)?password=)[^&#\s]*", re.IGNORECASE)
# libpq's key=value connection strings: a value is 'quoted' (\ escapes any character) or runs to whitespace.
_KEYWORD = re.compile(
    r"(?P<key>(?<![\w?&.-])(?:ssl|pg)?password\s*=\s*)(?:'(?:\\[\s\S]|[^'\\])*'?|(?:\\[\s\S]|[^\s\\])+\\?)",
    re.IGNORECASE,
)


def _userinfo(m: re.Match[str]) -> str:
    scheme, userinfo = m["scheme"], m["userinfo"]
    user, colon, _ = userinfo.partition(":")
    if colon:
        return f"{scheme}{user}:***@"
    if scheme.lower() in ("http://", "https://"):
        return f"{scheme}***@"
    return m.group(0)  # ssh://git@host: a user name, not a secret


def redact(text: str) -> str:
    """Return `text` with every credential (see the module docstring) replaced by `***`."""
    at = "@" in text
    if not at and "assword" not in text and "ASSWORD" not in text:
        return text
    if at:
        text = _USERINFO.sub(_userinfo, text)
    if "=" in text:
        text = _QUERY.sub(lambda m: f"{m['key']}***", text)
        text = _KEYWORD.sub(lambda m: f"{m['key']}***", text)
    return text


def redact_data(value: Any) -> Any:
    """Redact every string inside a JSON-like structure."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value
