"""The CI files, as text: the templates in `templates/` filled from the parent's cascade.toml.

Why not Jinja2: GitHub's own expressions are `${{ … }}`, which Jinja2 reads as its own; every workflow would be
`{% raw %}` blocks or custom delimiters, and a dependency for a dozen substitutions. A placeholder here is
`<<NAME>>` (or `<<PIN:key>>` for an action from `pins.py`); an unknown or unfilled one is a bug that `fill` raises.
Values are computed here, in Python, where they are tested: the children's owner and repositories from their URLs,
the install command, the environment variables `status --db` needs.

With `[ci] shards` above 1, the deliver and drift workflows (and the GitLab pipeline) come from the `-sharded`
templates: a publish job, a matrix of N jobs each running `--shard K/N`, and a job that joins their `--json`
documents with `report merge`. With 1 (the default), the unsharded templates are written exactly as before.

No value from outside the repository's own files is ever put into a `run:` script: the event's data reaches
scripts only through `env:` (zizmor's template-injection audit, run by the tests, holds the files to that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

from ddl_cascade import __version__
from ddl_cascade.ci.pins import PINS
from ddl_cascade.config import Config
from ddl_cascade.errors import ConfigError

WORKFLOWS = ".github/workflows"
GITHUB_PARENT = {"validate": "ddl-cascade-validate.yml", "deliver": "ddl-cascade-deliver.yml",
                 "drift": "ddl-cascade-drift.yml"}
GITHUB_CHILD = {"guard": "ddl-cascade-guard.yml"}
GITLAB = ".gitlab-ci.yml"
GITLAB_MAX_PARALLEL = 200  # GitLab runs at most 200 copies of a `parallel` job
PARENT_TOKEN_ENV = "DDL_CASCADE_PARENT_TOKEN"

_PLACEHOLDER = re.compile(r"<<([A-Z_]+|PIN:[a-z-]+)>>")
_GITHUB_URL = re.compile(r"^(?:https?://(?:[^@/]+@)?|ssh://git@|git@)(?P<host>[^/:]+)[/:](?P<owner>[^/]+)/"
                         r"(?P<repo>[^/]+?)(?:\.git)?/?$")
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class CiFile:
    path: str  # relative to the repository's root
    text: str


def default_install() -> str:
    """The install step's command: this very version from PyPI, so a workflow runs the ddl-cascade that wrote it."""
    return f'python -m pip install "ddl-cascade=={__version__}"'


def install_command(config: Config | None) -> str:
    return config.ci.install if config is not None and config.ci.install else default_install()


def fill(template: str, values: dict[str, str]) -> str:
    """The template with every `<<NAME>>` replaced; a name without a value raises (a bug in this module)."""
    text = (files("ddl_cascade.ci") / "templates" / template).read_text(encoding="utf-8")

    def one(match: re.Match[str]) -> str:
        name = match[1]
        if name.startswith("PIN:"):
            return PINS[name[4:]].uses()
        if name not in values:
            raise KeyError(f"{template}: no value for <<{name}>>")
        return values[name]

    # A placeholder alone on its line that has nothing to say takes its line with it.
    text = re.sub(r"^<<([A-Z_]+)>>\n", lambda m: "" if values.get(m[1], None) == "" else m[0], text, flags=re.M)
    return _PLACEHOLDER.sub(one, text)


def _indent(lines: list[str], spaces: int) -> str:
    return "\n".join(" " * spaces + line if line else "" for line in lines)


def _helper(user: str, token_env: str) -> str:
    """A git credential helper that answers with the token in `$token_env` when git asks, and stores nothing."""
    return f"'!f() {{ test \"$1\" = get && printf \"username={user}\\npassword=%s\\n\" \"${token_env}\"; }}; f'"


def github_children(config: Config) -> tuple[str, str, list[str]]:
    """(host, owner, repositories) of the children, read from their URLs: the App token's scope."""
    found = []
    for child in config.children:
        m = _GITHUB_URL.match(child.url)
        if not m:
            raise ConfigError(f"{config.file}: child '{child.name}' has url {child.url!r}, which names no GitHub "
                              "repository (https://HOST/OWNER/REPO or git@HOST:OWNER/REPO); the deliver workflow's "
                              "App token can only be scoped to GitHub repositories.")
        found.append((m["host"].lower(), m["owner"], m["repo"]))
    if not found:
        raise ConfigError(f"{config.file}: no [[children]]: the deliver and drift workflows need at least one child.")
    hosts, owners = {h for h, _, _ in found}, {o.lower() for _, o, _ in found}
    if len(hosts) > 1 or len(owners) > 1:
        raise ConfigError(f"{config.file}: the children live under more than one owner ("
                          f"{', '.join(sorted(f'{h}/{o}' for h, o, _ in found))}); one GitHub App token is scoped "
                          "to one owner, so the generated workflows need them under one.")
    repos = sorted({r for _, _, r in found})
    return found[0][0], found[0][1], repos


def github_credentials(host: str, token_env: str) -> list[str]:
    """Shell lines: ssh URLs of `host` go over https, this repository answers with the workflow's token and every
    other repository on `host` (the children) with the App token. The parent's entries come first: git asks helpers
    in the order they are configured and takes the first answer."""
    base = f"https://{host}"
    return [
        f"git config --global --add url.{base}/.insteadOf git@{host}:",
        f"git config --global --add url.{base}/.insteadOf ssh://git@{host}/",
        f"git config --global \"credential.{base}/${{GITHUB_REPOSITORY}}.helper\" "
        f"{_helper('x-access-token', PARENT_TOKEN_ENV)}",
        f"git config --global \"credential.{base}/${{GITHUB_REPOSITORY}}.git.helper\" "
        f"{_helper('x-access-token', PARENT_TOKEN_ENV)}",
        f"git config --global credential.{base}.helper {_helper('x-access-token', token_env)}",
    ]


def _app_scope(host: str, owner: str, repos: list[str]) -> str:
    lines = [f"owner: {owner}", "repositories: |", *[f"  {r}" for r in repos]]
    if host != "github.com":
        lines.append(f"github-api-url: https://{host}/api/v3")
    return _indent(lines, 10)


def _db_env(config: Config) -> str:
    """`env:` lines for the `${VAR}`s of the environments' URLs, each from the repository secret of that name."""
    names = sorted({v for env in config.environments.values() for v in _ENV_VAR.findall(env.url)})
    return _indent([f"{n}: ${{{{ secrets.{n} }}}}" for n in names], 10)


def _common(config: Config | None) -> dict[str, str]:
    install = install_command(config)
    values = {"VERSION": __version__, "INSTALL": install}
    if config is not None:
        values |= {"SOURCE_BRANCH": config.source.branch, "DELIVERY_BRANCH": config.source.delivery_branch,
                   "TOKEN_ENV": config.forge.token_env or "GITHUB_TOKEN",
                   "STATUS_ARGS": "--db --json" if config.environments else "--json"}
    return values


def _need_remote(config: Config) -> None:
    if config.source.remote is None:
        raise ConfigError(f"{config.file}: the deliver job runs `full --push`, which pushes the delivery branch to "
                          "source.remote; set it (e.g. remote = \"origin\") in [source].")


def github_parent(config: Config) -> list[CiFile]:
    _need_remote(config)
    host, owner, repos = github_children(config)
    values = _common(config) | {
        "APP_TOKEN_SCOPE": _app_scope(host, owner, repos),
        "CREDENTIALS": _indent(github_credentials(host, _common(config)["TOKEN_ENV"]), 10),
        "DB_ENV": _db_env(config),
    }
    if config.environments:
        # GitHub's runner has PostgreSQL's server binaries, so the drift job also checks each database's schema
        # drift (a throwaway server; nothing is written to the databases). GitLab's python image has none: there it
        # checks the history only (docs/ci.md says how to add it).
        values["STATUS_ARGS"] = "--db --drift --json"
    shards = config.ci.shards
    if shards > 1:
        values |= {"SHARDS": str(shards), "SHARD_LIST": ", ".join(str(k) for k in range(1, shards + 1))}
    out = []
    for kind, name in GITHUB_PARENT.items():
        template = f"github-{kind}-sharded.yml" if shards > 1 and kind in SHARDED else f"github-{kind}.yml"
        out.append(CiFile(f"{WORKFLOWS}/{name}", fill(template, values)))
    return out


SHARDED = ("deliver", "drift")  # the workflows that `[ci] shards` splits into a matrix


def github_child(config: Config | None) -> list[CiFile]:
    return [CiFile(f"{WORKFLOWS}/{GITHUB_CHILD['guard']}", fill("github-guard.yml", _common(config)))]


def gitlab(config: Config) -> list[CiFile]:
    _need_remote(config)
    token_env = config.forge.token_env or "GITLAB_TOKEN"
    helper_lines = [
        'host="${CI_SERVER_URL}"',
        'git config --global --add "url.${host}/.insteadOf" "git@${CI_SERVER_HOST}:"',
        'git config --global --add "url.${host}/.insteadOf" "ssh://git@${CI_SERVER_HOST}/"',
        f"git config --global \"credential.${{host}}/${{CI_PROJECT_PATH}}.git.helper\" "
        f"{_helper('oauth2', PARENT_TOKEN_ENV)}",
        f"git config --global \"credential.${{host}}/${{CI_PROJECT_PATH}}.helper\" "
        f"{_helper('oauth2', PARENT_TOKEN_ENV)}",
        f"git config --global \"credential.${{host}}.helper\" {_helper('oauth2', token_env)}",
    ]
    values = _common(config) | {"TOKEN_ENV": token_env, "CREDENTIALS": _indent(helper_lines, 6)}
    shards = config.ci.shards
    if shards > GITLAB_MAX_PARALLEL:
        raise ConfigError(f"{config.file}: ci.shards = {shards}, but GitLab runs at most {GITLAB_MAX_PARALLEL} "
                          "copies of a parallel job; set it to 200 or fewer for `ci init gitlab`.")
    if shards > 1:
        return [CiFile(GITLAB, fill("gitlab-ci-sharded.yml", values | {"SHARDS": str(shards)}))]
    return [CiFile(GITLAB, fill("gitlab-ci.yml", values))]
