"""cascade.toml is declared once (src/ddl_cascade/config.py): the parser, its errors and docs/config.md follow it.

The cases below are tables; each table also asserts that it covers every table or key the declaration has, so a key
added to the declaration without a case here fails until someone says how it should behave.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ddl_cascade import config
from ddl_cascade.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
FILE = Path("/parent/cascade.toml")
MINIMAL = '[source]\npath = "read-write-flyway-files"\n'
CHILD = '[[children]]\nname = "a"\nurl = "x"\n'


def error(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        config.parse(tomllib.loads(text), FILE)
    message = str(err.value)
    assert message.startswith(f"{FILE}: "), message
    return message


def declared() -> list[tuple[str, str, config.Key]]:
    """(table, key, declaration) for every key, `[defaults]` included, as the reference page lists them."""
    out = []
    for table, spec in config.tables():
        if spec.defaults:
            out += [(spec.defaults, name, key) for name, key in config.inherited_keys(spec.cls)]
        out += [(table, name, key) for name, key in config.keys(spec.cls)]
    return out


def table_names() -> set[str]:
    return {n for table, spec in config.tables() for n in (table, spec.defaults) if n}


# ---------------------------------------------------------------------------------------------------------------------
# docs/config.md


def test_docs_config_md_is_what_the_declaration_renders():
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert text == config.reference_markdown(), "regenerate: scripts/config-docs"


def test_config_docs_script_check_passes_on_the_committed_page():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "config-docs"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("table, name, key", [pytest.param(*d, id=f"{d[0]}.{d[1]}") for d in declared()])
def test_every_key_has_a_row_with_its_type_default_allowed_values_and_doc(table, name, key):
    sections = config.reference_markdown().split("\n## ")
    heading = re.compile(rf"^`\[\[?{table}(\.NAME)?\]\]?`")
    (section,) = [s for s in sections if heading.match(s)]
    row = next(line for line in section.splitlines() if line.startswith(f"| `{name}` |"))
    assert key.doc in row and key.type.name in row
    assert all(f'`"{value}"`' in row for value in key.type.allowed)
    if key.default is config.REQUIRED:
        assert "required" in row


# ---------------------------------------------------------------------------------------------------------------------
# Unknown keys: in every table, the error names the dotted key and the file

UNKNOWN_KEY = {
    "": ("colour = 1\n" + MINIMAL, "colour"),
    "source": (MINIMAL + "colour = 1\n", "source.colour"),
    "defaults": (MINIMAL + "[defaults]\ncolour = 1\n", "defaults.colour"),
    "children": (MINIMAL + CHILD + "colour = 1\n", "children[0].colour"),
    "sync": (MINIMAL + "[sync]\ncolour = 1\n", "sync.colour"),
    "flyway": (MINIMAL + "[flyway]\ncolour = 1\n", "flyway.colour"),
    "validate": (MINIMAL + "[validate]\ncolour = 1\n", "validate.colour"),
    "environments": (MINIMAL + "[environments.prod]\nurl = 'x'\ncolour = 1\n", "environments.prod.colour"),
    "forge": (MINIMAL + "[forge]\ncolour = 1\n", "forge.colour"),
    "ci": (MINIMAL + "[ci]\ncolour = 1\n", "ci.colour"),
    "channels": (MINIMAL + "[channels]\ncolour = 1\n", "channels.colour"),
}


def test_unknown_key_cases_cover_every_declared_table():
    assert set(UNKNOWN_KEY) == table_names() | {""}


@pytest.mark.parametrize("table", UNKNOWN_KEY)
def test_an_unknown_key_names_the_dotted_key_and_the_file(table):
    text, dotted = UNKNOWN_KEY[table]
    assert f"unknown key '{dotted}'." in error(text)


# ---------------------------------------------------------------------------------------------------------------------
# Wrong types: the error names the key (array elements by index, children by name)

WRONG_TYPE = [
    ("source = 1\n", "'source' must be a table"),
    (MINIMAL + "[sync]\nauthor = 1\n", "'sync.author' must be a non-empty string"),
    ("children = 1\n" + MINIMAL, "'children' must be an array of tables"),
    ("sync = 'x'\n" + MINIMAL, "'sync' must be a table"),
    ('[source]\npath = 1\n', "'source.path' must be a non-empty string"),
    (MINIMAL + "remote = ['origin']\n", "'source.remote' must be a non-empty string"),
    (MINIMAL + "[defaults]\nmode = 1\n", "'defaults.mode' must be"),
    (MINIMAL + "[defaults]\nlocal_paths = 'db'\n", "'defaults.local_paths' must be an array of strings"),
    (MINIMAL + CHILD + "tags = 'x'\n", "'children[0] ('a').tags' must be an array of strings"),
    (MINIMAL + CHILD + "tags = ['x', 2]\n", "'children[0] ('a').tags[1]' must be a non-empty string"),
    (MINIMAL + "[[children]]\nname = 'a'\nurl = 3\n", "'children[0] ('a').url' must be a non-empty string"),
    (MINIMAL + "[flyway]\nsql_paths = 'sql'\n", "'flyway.sql_paths' must be an array of relative paths"),
    (MINIMAL + "[flyway]\ncallback_paths = ['/cb']\n", "'flyway.callback_paths[0]' must be a relative path"),
    (MINIMAL + "[flyway]\nplaceholders = 'x'\n", "'flyway.placeholders' must be a table"),
    (MINIMAL + "[flyway.placeholders]\nschema = 1\n", "'flyway.placeholders.schema' must be a string"),
    (MINIMAL + "[validate]\nrules = ['x']\n", "'validate.rules' must be a table"),
    (MINIMAL + "[environments]\nprod = 'x'\n", "'environments.prod' must be a table"),
    (MINIMAL + "[environments.prod]\nurl = 5432\n", "'environments.prod.url' must be a non-empty string"),
]


@pytest.mark.parametrize("text, needle", WRONG_TYPE)
def test_a_wrong_type_names_the_key(text, needle):
    assert needle in error(text)


# ---------------------------------------------------------------------------------------------------------------------
# Allowed values: the error lists them all

OUTSIDE_ALLOWED = {
    ("defaults", "mode"): (MINIMAL + "[defaults]\nmode = 'rebase'\n", "'defaults.mode'", "'rebase'"),
    ("children", "mode"): (MINIMAL + CHILD + "mode = 'rebase'\n", "'children[0] ('a').mode'", "'rebase'"),
    ("validate", "rules"): (MINIMAL + "[validate.rules]\n'lint/drop-table' = 'loud'\n",
                           "'validate.rules.\"lint/drop-table\"'", "'loud'"),
    ("defaults", "delivery"): (MINIMAL + "[defaults]\ndelivery = 'email'\n", "'defaults.delivery'", "'email'"),
    ("children", "delivery"): (MINIMAL + CHILD + "delivery = 'pr'\n", "'children[0] ('a').delivery'", "'pr'"),
    ("forge", "kind"): (MINIMAL + "[forge]\nkind = 'bitbucket'\n", "'forge.kind'", "'bitbucket'"),
}


def test_allowed_value_cases_cover_every_key_with_allowed_values():
    assert set(OUTSIDE_ALLOWED) == {(table, name) for table, name, key in declared() if key.type.allowed}


@pytest.mark.parametrize("table, name", OUTSIDE_ALLOWED)
def test_a_value_outside_the_allowed_set_lists_the_allowed_values(table, name):
    text, dotted, given = OUTSIDE_ALLOWED[table, name]
    message = error(text)
    allowed = dict(((t, n), k) for t, n, k in declared())[table, name].type.allowed
    assert dotted in message and given in message
    assert all(f'"{value}"' in message for value in allowed)


# ---------------------------------------------------------------------------------------------------------------------
# Defaults: what a config that leaves a key out holds is what the declaration says

# The product's defaults (PRODUCT.md), written out once more here on purpose: the declaration must keep them.
PRODUCT_DEFAULTS = {
    ("source", "branch"): "main",
    ("source", "delivery_branch"): "ro-shared-ddl",
    ("defaults", "prefix"): "read-only-flyway-files",
    ("defaults", "branch"): "main",
    ("defaults", "mode"): "squash",
    ("sync", "author"): config.DEFAULT_AUTHOR,
    ("flyway", "sql_paths"): ["sql"],
    ("flyway", "callback_paths"): ["callbacks"],
}


def parsed_value(cfg: config.Config, table: str, name: str) -> Any:
    if table == "environments":  # a table of named tables: the one environment the text below declares
        holder = cfg.environments["e"]
    else:
        holder = cfg.children[0] if table in ("children", "defaults") else getattr(cfg, table)
    return getattr(holder, name)


@pytest.mark.parametrize(
    "table, name, key",
    [pytest.param(*d, id=f"{d[0]}.{d[1]}") for d in declared() if d[2].default is not config.REQUIRED],
)
def test_a_key_left_out_takes_its_declared_default(table, name, key):
    cfg = config.parse(tomllib.loads(MINIMAL + CHILD + '[environments.e]\nurl = "postgresql://h/d"\n'), FILE)
    assert parsed_value(cfg, table, name) == key.default_value()


@pytest.mark.parametrize("table, name", PRODUCT_DEFAULTS)
def test_the_declared_defaults_are_the_products(table, name):
    key = dict(((t, n), k) for t, n, k in declared())[table, name]
    assert key.default == PRODUCT_DEFAULTS[table, name]


# Children take [defaults] key by key; a child's own value wins.
INHERITED = {
    "prefix": ("shared/ddl", "own/ddl"),
    "branch": ("develop", "trunk"),
    "mode": ("merge", "squash"),
    "local_paths": (["db"], ["own/db"]),
    "create_branch": (True, False),
    "delivery": ("pull-request", "push"),
    "pull_request": ({"draft": True}, {"draft": False}),
    "channel": ("prod", "dev"),
}
# What a key's case needs besides `[defaults]` and the children: a channel must be one `[channels]` declares.
INHERITED_CONTEXT = {
    "channel": '[channels]\norder = ["dev", "prod"]\n',
}


def test_inherited_cases_cover_every_inheritable_key():
    assert set(INHERITED) == {name for name, _ in config.inherited_keys(config.Child)}


@pytest.mark.parametrize("name", INHERITED)
def test_children_inherit_each_defaults_key_unless_they_set_it(name):
    default, own = INHERITED[name]
    def toml(value):
        return "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + "}" if isinstance(value, dict) \
            else json.dumps(value)

    text = MINIMAL + INHERITED_CONTEXT.get(name, "") + f"[defaults]\n{name} = {toml(default)}\n" + CHILD
    text += f'[[children]]\nname = "b"\nurl = "y"\n{name} = {toml(own)}\n'
    first, second = config.parse(tomllib.loads(text), FILE).children

    def as_written(value):
        if isinstance(value, config.PullRequestSettings):
            return {k: getattr(value, k) for k in default}
        return list(value) if isinstance(value, tuple) else value

    assert as_written(getattr(first, name)) == default
    assert as_written(getattr(second, name)) == own


def test_a_childs_pull_request_table_overrides_the_defaults_key_by_key():
    text = (MINIMAL + "[defaults.pull_request]\nlabels = ['ddl']\ndraft = true\n" + CHILD
            + "[children.pull_request]\ndraft = false\nreviewers = ['dba']\n")
    (child,) = config.parse(tomllib.loads(text), FILE).children
    assert (child.pull_request.labels, child.pull_request.draft, child.pull_request.reviewers) == (("ddl",), False,
                                                                                                   ("dba",))
    assert child.pull_request.auto_merge == "off" and child.pull_request.branch_name("ro") == "ddl-cascade/ro"


def test_a_pull_request_branch_git_refuses_names_the_child():
    text = MINIMAL + CHILD + "[children.pull_request]\nbranch = 'a..b'\n"
    assert "child 'a': pull_request.branch 'a..b'" in error(text)
