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


# -- input that would damage a child or the parent (issue 9) ---------------------------------------------------------

CHILD = "[[children]]\nname = 'a'\nurl = 'x'\n"


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[source]\npath = 'p'\nbranch = 'main'\ndelivery_branch = 'main'\n",
         "source.delivery_branch must differ from source.branch ('main')"),
        ("[source]\npath = 'p'\ndelivery_branch = 'main'\n", "source.delivery_branch must differ from source.branch"),
        ("[source]\npath = 'p'\nbranch = 'main'\ndelivery_branch = 'main/ro'\n",
         "source.delivery_branch 'main/ro' and source.branch 'main' cannot both exist"),
        ("[source]\npath = 'p'\nbranch = 'a..b'\n", "'source.branch' is not a branch name git accepts"),
        ("[source]\npath = 'p'\ndelivery_branch = 'x.lock'\n", "'source.delivery_branch' is not a branch name"),
        (MINIMAL + "[defaults]\nbranch = 'my branch'\n", "'defaults.branch' is not a branch name git accepts"),
        (MINIMAL + CHILD + "branch = '-f'\n", "'children[0] ('a').branch' is not a branch name git accepts"),
        (MINIMAL + CHILD + "branch = 'refs/heads/main'\n", "'children[0] ('a').branch' is not a branch name"),
        (MINIMAL + CHILD + "branch = 'HEAD'\n", "HEAD is not a branch"),
        (MINIMAL + CHILD + "branch = '+main'\n", "it starts with '+'"),
        (MINIMAL + CHILD + "branch = 'a@{1}'\n", "it contains '@{'"),
        (MINIMAL + CHILD + "branch = 'feature/'\n", "empty path component"),
        (MINIMAL + CHILD + "branch = 'feature.'\n", "it ends with '.'"),
        (MINIMAL + CHILD + "branch = 'a//b'\n", "empty path component"),
        (MINIMAL + CHILD + "branch = 'a:b'\n", "it contains ':'"),
        (MINIMAL + CHILD + 'branch = "a\\\\b"\n', "it contains '\\\\'"),
        (MINIMAL + CHILD + 'branch = "a\\u0007b"\n', "control character"),
        ("[source]\npath = '.git'\n", "'source.path' must not be or contain a .git folder"),
        ("[source]\npath = 'a/.GIT/b'\n", "'source.path' must not be or contain a .git folder"),
        (MINIMAL + "[defaults]\nprefix = '.Git'\n", "'defaults.prefix' must not be or contain a .git folder"),
        (MINIMAL + CHILD + "prefix = 'x/.git'\n", "'children[0] ('a').prefix' must not be or contain a .git"),
        (MINIMAL + CHILD + "prefix = '.git. /hooks'\n", "must not be or contain a .git folder"),
        (MINIMAL + CHILD + "create_branch = 'yes'\n", "'children[0] ('a').create_branch' must be true or false"),
        (MINIMAL + '[sync]\nauthor = "Eve <e@x>\\ncommitter Mallory <m@x> 0 +0000"\n', "sync.author must look like"),
        (MINIMAL + '[sync]\nauthor = "Eve\\nX <e@x>"\n', "sync.author must look like"),
        (MINIMAL + '[sync]\nauthor = "Eve <e@x>\\n"\n', "sync.author must look like"),
        (MINIMAL + "[sync]\nauthor = 'Eve'\n", "sync.author must look like"),
        (MINIMAL + "[sync]\nauthor = '<e@x>'\n", "sync.author must look like"),
        (MINIMAL + "[sync]\nauthor = 'Eve <>'\n", "sync.author must look like"),
        (MINIMAL + "[sync]\nauthor = 'Eve <e@x> trailing'\n", "sync.author must look like"),
    ],
)
def test_input_that_would_damage_a_repository_is_refused(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert needle in str(err.value)
    assert str(path) in str(err.value)


def test_good_branch_names_prefixes_and_authors_pass(tmp_path):
    cfg = config.load(write(tmp_path, "[source]\npath = 'shared/.github-like/ddl.git2'\nbranch = 'release/2024.1'\n"
                            "delivery_branch = 'ro-shared-ddl'\n[sync]\nauthor = 'Jane Q. Doe <jane@example.com>'\n"
                            + CHILD + "branch = 'feature/x+y@1'\nprefix = 'db/git'\n"))
    assert cfg.source.branch == "release/2024.1"
    assert cfg.children[0].branch == "feature/x+y@1"
    assert (cfg.author.name, cfg.author.email) == ("Jane Q. Doe", "jane@example.com")


def test_create_branch_is_inherited_from_defaults_and_off_by_default(tmp_path):
    cfg = config.load(write(tmp_path, MINIMAL + CHILD))
    assert cfg.children[0].create_branch is False
    cfg = config.load(write(tmp_path, MINIMAL + "[defaults]\ncreate_branch = true\n" + CHILD +
                            "[[children]]\nname = 'b'\nurl = 'y'\ncreate_branch = false\n"))
    assert [c.create_branch for c in cfg.children] == [True, False]


def test_publish_refuses_a_delivery_branch_that_is_the_source_branch_before_touching_anything(cli, make_repo):
    repo = make_repo("parent")
    (repo.path / "cascade.toml").write_text("[source]\npath = 'ddl'\nbranch = 'main'\ndelivery_branch = 'main'\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "V1")
    before = repo.git("rev-parse", "main")
    result = cli("publish", "--force", cwd=repo.path)
    assert result.code == 2, result
    assert "source.delivery_branch must differ from source.branch" in result.stderr
    assert str(repo.path / "cascade.toml") in result.stderr and "Traceback" not in result.stderr
    assert repo.git("rev-parse", "main") == before


# Names git's own check may see: its special characters, components and suffixes, mixed with plain text.
_BRANCH_PIECES = ["a", "main", "x", "/", ".", "..", "-", "+", "@", "{", "}", "@{", ".lock", "lock", "~", "^", ":",
                  "?", "*", "[", "\\", " ", "\t", "\x7f", "\x01", "HEAD", "refs/", "refs/heads/", "é", "_", "//"]


def _git_accepts_branch(name: str, cwd: Path) -> bool:
    import os
    import subprocess

    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(cwd.parent))  # outside any repository: no @{-N} expansion
    return subprocess.run(["git", "check-ref-format", "--branch", name], cwd=cwd, env=env,
                          capture_output=True).returncode == 0


def test_branch_rule_is_gits_check_ref_format(tmp_path_factory):
    """The BRANCH type refuses exactly what `git check-ref-format --branch` refuses, plus `refs/…` and a leading
    `+` (our two stricter rules)."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    where = tmp_path_factory.mktemp("nogit")
    names = st.one_of(
        st.lists(st.sampled_from(_BRANCH_PIECES), min_size=1, max_size=6).map("".join),
        st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1,
                max_size=12),
    )

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(names)
    def check(name):
        ours = config.branch_problem(name) is None
        gits = _git_accepts_branch(name, where) and not name.startswith(("refs/", "+"))
        assert ours == gits, (name, config.branch_problem(name))

    check()
