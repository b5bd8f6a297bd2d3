"""cascade.toml: what it accepts, and the one clear error (exit 2) for each way it can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from ddl_cascade import config
from ddl_cascade.errors import ConfigError

MINIMAL = '[source]\npath = "read-write-flyway-files"\n'

FULL = """
[source]
path = "read-write-flyway-files"
branch = "main"
delivery_branch = "ro-shared-ddl"
remote = "origin"

[defaults]
prefix = "read-only-flyway-files"
branch = "main"
mode = "squash"

[[children]]
name = "flyway-1-pipeline"
url = "git@github.com:acme/flyway-1-pipeline.git"
tags = ["env-1", "pipeline"]

[[children]]
name = "flyway-1-grants"
url = "../children/flyway-1-grants.git"
mode = "merge"
prefix = "shared/ddl"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cascade.toml"
    path.write_text(text)
    return path


def test_minimal_config_has_product_defaults(tmp_path):
    cfg = config.load(write(tmp_path, MINIMAL))
    assert cfg.source.path == "read-write-flyway-files"
    assert cfg.source.branch == "main"
    assert cfg.source.delivery_branch == "ro-shared-ddl"
    assert cfg.source.remote is None
    assert cfg.children == ()


def test_children_inherit_defaults_and_relative_urls_resolve_against_the_parent(tmp_path):
    cfg = config.load(write(tmp_path, FULL))
    first, second = cfg.children
    assert (first.prefix, first.branch, first.mode, first.tags) == (
        "read-only-flyway-files", "main", "squash", ("env-1", "pipeline"))
    assert first.url == "git@github.com:acme/flyway-1-pipeline.git"
    assert second.url == str((tmp_path / "../children/flyway-1-grants.git").resolve())
    assert (second.mode, second.prefix) == ("merge", "shared/ddl")
    assert [c.name for c in cfg.select(tag="pipeline")] == ["flyway-1-pipeline"]


@pytest.mark.parametrize(
    "text, needle",
    [
        (MINIMAL + "[defaults]\nprefx = 'x'\n", "unknown key 'defaults.prefx'"),
        ("[source]\npath = 'a'\npaths = 'b'\n", "unknown key 'source.paths'"),
        ("[sourc]\npath = 'a'\n", "unknown key 'sourc'"),
        ("[defaults]\nprefix = 'x'\n", "missing required table [source]"),
        (MINIMAL + "[[children]]\nname = 'a'\nurl = 'x'\n[[children]]\nname = 'a'\nurl = 'y'\n",
         "duplicate child name 'a'"),
        (MINIMAL + "[[children]]\nname = 'a'\n", "missing required key 'children[0] ('a').url'"),
        (MINIMAL + "[[children]]\nname = 'a'\nurl = 'x'\nprefix = '/abs'\n", "must be a relative path"),
        (MINIMAL + "[[children]]\nname = 'a'\nurl = 'x'\nprefix = 'a/../../b'\n", "must not climb out"),
        (MINIMAL + "[defaults]\nprefix = '../up'\n", "'defaults.prefix' must not climb out"),
        (MINIMAL + "[defaults]\nmode = 'rebase'\n", "'defaults.mode' must be \"squash\" or \"merge\""),
        (MINIMAL + "[[children]]\nname = 'a'\nurl = 'x'\nbogus = 1\n", "unknown key 'children[0].bogus'"),
        (MINIMAL + "[sync]\nauthor = 'nobody'\n", "sync.author must look like"),
        (MINIMAL + "[validate.rules]\n'lint/drop-table' = 'loud'\n", "validate.rules"),
        ("source = [", "not valid TOML"),
    ],
)
def test_bad_config_is_one_error_naming_file_and_key(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert needle in message
    assert str(path) in message


def test_cli_reports_config_error_with_exit_2_and_no_traceback(tmp_path, cli, make_repo):
    repo = make_repo("parent")
    (repo.path / "cascade.toml").write_text(MINIMAL + "[defaults]\nprefx = 'x'\n")
    result = cli("publish", cwd=repo.path)
    assert result.code == 2
    assert "unknown key 'defaults.prefx'" in result.stderr
    assert "cascade.toml" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_missing_config_says_where_it_looked(tmp_path, cli, make_repo):
    repo = make_repo("parent")
    result = cli("publish", "--json", cwd=repo.path)
    assert result.code == 2
    assert str(repo.path / "cascade.toml") in result.stderr
    outside = tmp_path / "plain"
    outside.mkdir()
    result = cli("publish", cwd=outside)
    assert result.code == 2
    assert "not inside a git repository" in result.stderr


def test_cli_version(cli):
    result = cli("--version")
    assert result.code == 0
    assert result.stdout.startswith("ddl-cascade ")
