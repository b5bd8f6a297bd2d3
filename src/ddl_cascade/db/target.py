"""Which database a `db` command talks to, and connecting to it without ever showing a password.

A target is `--url URL` or `--env NAME` (`[environments.NAME] url = "postgresql://app:${PGPASSWORD}@db:5432/app"` in
cascade.toml). `${VAR}` is taken from the environment variables when the command runs, so no secret needs to live in
the file. Every failure to connect (bad URL, wrong credentials, unreachable server) becomes one `CascadeError`
sentence that names the target with its password redacted; libpq's own reason is kept because it is what the user
needs ("password authentication failed for user ...", "Connection refused").
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass

from ddl_cascade.errors import CascadeError
from ddl_cascade.redact import redact

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Target:
    """A database to connect to. `url` holds the expanded secret; `display` is safe to print."""

    url: str
    display: str
    environment: str | None = None


def expand(url: str, where: str) -> str:
    """Replace each `${VAR}` by the environment variable VAR; an unset one is an error naming it."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        value = os.environ.get(name)
        if value is None:
            raise CascadeError(f"{where} uses ${{{name}}}, but the environment variable {name} is not set.")
        return value

    return _VAR.sub(one, url)


def from_options(cfg, url: str | None, env: str | None) -> Target:
    """The target named by `--url` or `--env` (exactly one of them)."""
    if (url is None) == (env is None):
        raise CascadeError("give exactly one of --url URL or --env NAME.")
    if url is not None:
        return from_url(url)
    if cfg is None:
        raise CascadeError("--env needs a cascade.toml with [environments.*] tables.")
    environment = cfg.environments.get(env)
    if environment is None:
        known = ", ".join(sorted(cfg.environments)) or "none"
        raise CascadeError(f"{cfg.file}: no environment named '{env}': there is no [environments.{env}] table "
                           f"(defined: {known}).")
    return from_environment(cfg, environment)


def from_url(url: str) -> Target:
    expanded = expand(url, "--url")
    _check_scheme(expanded, "--url")
    return Target(_encode_userinfo(expanded), redact(url if "${" in url else expanded))


def from_environment(cfg, environment) -> Target:
    where = f"{cfg.file}: environments.{environment.name}.url"
    expanded = expand(environment.url, where)
    _check_scheme(expanded, where)
    # The written form is shown: `${PGPASSWORD}` is not a secret, and the expanded value would be.
    return Target(_encode_userinfo(expanded), redact(environment.url), environment.name)


_AUTHORITY = re.compile(r"^(?P<scheme>[^:/]+://)(?P<userinfo>[^/?#]*)@(?P<rest>.*)$", re.DOTALL)


def _encode_userinfo(url: str) -> str:
    """`postgresql://app:p@ss@db/x` as `postgresql://app:p%40ss@db/x`: the user info runs to the authority's last
    `@` (as `redact` reads it, and as a password from `${VAR}` is meant), while libpq would end it at the first and
    then name the rest of the password in its error ("could not translate host name "ss@db"")."""
    m = _AUTHORITY.match(url)
    if m is None or "@" not in m["userinfo"]:
        return url
    return f"{m['scheme']}{m['userinfo'].replace('@', '%40')}@{m['rest']}"


def _check_scheme(url: str, where: str) -> None:
    if not re.match(r"^postgres(ql)?://", url):
        raise CascadeError(f"{where} must be a postgresql:// URL, not {redact(url)!r}.")


def connect(target: Target, autocommit: bool = True):
    """An open psycopg connection, or a CascadeError sentence saying why not (password never shown)."""
    import psycopg

    try:
        return psycopg.connect(target.url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.ProgrammingError as exc:  # libpq could not parse the URL
        raise CascadeError(f"{target.display} is not a valid PostgreSQL URL: {reason_of(exc, target)}.") from None
    except psycopg.OperationalError as exc:
        raise CascadeError(f"cannot connect to {target.display}: {reason_of(exc, target)}.") from None


def connect_options(url: str, extra: str) -> dict[str, str]:
    """The `options` connection parameter of `url` with `extra` (`-c name=value` settings) added, as a keyword
    argument for psycopg.connect (which then wins over the URL's own)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        own = conninfo_to_dict(url).get("options")
    except Exception:  # an unparsable URL: psycopg.connect says why
        own = None
    return {"options": f"{own} {extra}" if own else extra}


def reason_of(exc: Exception, target: Target) -> str:
    """libpq's reason on one line, without its 'connection to server at ... failed:' preamble or any secret."""
    text = str(exc).strip()
    # libpq: 'connection failed: connection to server at "h", port p failed: <reason>' then optional hint lines
    # ("Is the server running on that host...?"); the reason is what the user needs.
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    reason = lines[0] if lines else type(exc).__name__
    reason = re.sub(r"^(connection failed: )?(connection to server .*? failed: )?", "", reason)
    reason = re.sub(r"^FATAL:\s+", "", reason) or (lines[1] if len(lines) > 1 else type(exc).__name__)
    reason = redact(reason)
    for password in _passwords(target.url):
        # libpq does not echo passwords; this is a belt for the braces (whole tokens only)
        reason = re.sub(rf"(?<![A-Za-z0-9]){re.escape(password)}(?![A-Za-z0-9])", "***", reason)
    return reason.rstrip(".").rstrip("?")


def _passwords(url: str) -> list[str]:
    """The URL's password and any `password=`/`sslpassword=` of its query string, decoded."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
        raw = parts.password
    except ValueError:
        return []
    found = [unquote(raw)] if raw else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in ("password", "sslpassword") and v]
    return found


@contextmanager
def database_errors(target: Target | None):
    """Turn a database error outside a migration (no privilege to create a database or the history table, a server
    that goes away) into one CascadeError sentence naming the target, password redacted."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        where = target.display if target is not None else "the throwaway server"
        primary = getattr(getattr(exc, "diag", None), "message_primary", None)
        text = primary or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CascadeError(f"{where}: {redact(text).rstrip('.')}.") from None
