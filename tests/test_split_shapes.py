"""Named regressions: each history shape issue 2 lists, split by us and by the real `git subtree split`.

Every test builds a real repository (fast-import or the `git` command, including real `git subtree add`,
`split --rejoin` and `merge --squash`), then asserts that our split prints the very commit id the script prints.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ddl_cascade.cascade import split
from ddl_cascade.errors import CascadeError
from splitkit import Commit, build, oracle

P = "db"


def both(repo: Path, prefix: str = P, rev: str = "main") -> str | None:
    expected, stderr = oracle(repo, prefix, rev)
    got = split.run(repo, rev, prefix, cache=False).tip
    assert got == expected, stderr
    return got


def c(parents, folder=None, outside=b"o", prefix=P, **kw) -> Commit:
    files = {"README": outside}
    if folder is not None:
        files.update({f"{prefix}/{k}": v for k, v in folder.items()})
    return Commit(parents=list(parents), files=files, **kw)


def test_linear_history_skips_commits_outside_the_folder(tmp_path):
    commits = [c([], {"v1": b"1"}), c([0], {"v1": b"1"}, outside=b"x"), c([1], {"v1": b"1", "v2": b"2"})]
    build(tmp_path, commits, {"main": 2})
    tip = both(tmp_path)
    assert subprocess.run(["git", "rev-list", "--count", tip], cwd=tmp_path, capture_output=True,
                          text=True).stdout.strip() == "2"


def test_merges_with_identical_and_different_sides(tmp_path):
    commits = [
        c([], {"v1": b"1"}, when=1_700_000_000),
        c([0], {"v1": b"1", "v2": b"2"}, when=1_700_000_060),  # feature changes the folder
        c([0], {"v1": b"1"}, outside=b"main", when=1_700_000_120),  # main does not
        c([2, 1], {"v1": b"1", "v2": b"2"}, message=b"merge feature", when=1_700_000_180),
        c([3], {"v1": b"1", "v2": b"2"}, outside=b"later", when=1_700_000_240),
        c([4, 2], {"v1": b"1", "v2": b"2"}, message=b"merge old main", when=1_700_000_300),
    ]
    build(tmp_path, commits, {"main": 5})
    both(tmp_path)


def test_octopus_merge(tmp_path):
    commits = [
        c([], {"v1": b"1"}),
        c([0], {"v1": b"1", "a": b"a"}, when=1_700_000_060),
        c([0], {"v1": b"1", "b": b"b"}, when=1_700_000_120),
        c([0], {"v1": b"2"}, when=1_700_000_180),
        c([1, 2, 3], {"v1": b"2", "a": b"a", "b": b"b"}, message=b"octopus", when=1_700_000_240),
    ]
    build(tmp_path, commits, {"main": 4})
    both(tmp_path)


def test_merge_of_unrelated_histories_and_several_roots(tmp_path):
    commits = [
        c([], {"v1": b"1"}),
        c([], {"other": b"x"}, when=1_700_000_060),  # an unrelated root that also has the folder
        c([], None, outside=b"no folder", when=1_700_000_090),  # and one without it
        c([0, 1], {"v1": b"1", "other": b"x"}, message=b"join", when=1_700_000_120),
        c([3, 2], {"v1": b"1", "other": b"x"}, message=b"join again", when=1_700_000_180),
    ]
    build(tmp_path, commits, {"main": 4})
    both(tmp_path)


def test_folder_appears_disappears_and_reappears(tmp_path):
    commits = [
        c([], None),
        c([0], {"v1": b"1"}, when=1_700_000_060),
        c([1], None, outside=b"removed", when=1_700_000_120),
        c([2], None, outside=b"still removed", when=1_700_000_180),
        c([3], {"v1": b"back"}, when=1_700_000_240),
    ]
    build(tmp_path, commits, {"main": 4, "gone": 3})
    both(tmp_path)
    both(tmp_path, rev="gone")  # a tip without the folder: the script prints the last split it made


def test_folder_that_never_existed(tmp_path):
    build(tmp_path, [c([], None), c([0], None, outside=b"x")], {"main": 1})
    assert both(tmp_path) is None


def test_nested_prefix(tmp_path):
    commits = [
        c([], {"x": b"1"}, prefix="a/b"),
        c([0], {"x": b"1"}, prefix="a/b", when=1_700_000_060),
        c([1], {"x": b"2"}, prefix="a/b", when=1_700_000_120),
    ]
    commits[1].files["a/sibling"] = b"s"
    build(tmp_path, commits, {"main": 2})
    both(tmp_path, prefix="a/b")
    both(tmp_path, prefix="a")


@pytest.mark.parametrize(
    "message, encoding",
    [
        (b"no trailing newline", None),
        (b"Latin-1 without header: caf\xe9\n", None),
        (b"Latin-1 with header: caf\xe9\n", b"ISO-8859-1"),
        (b"\xf0\xd2\xc9\xd7\xc5\xd4\n", b"KOI8-R"),
        (b"UTF-8 with header: caf\xc3\xa9", b"UTF-8"),
        (b"unknown encoding \xe9\n", b"x-unknown"),
        (b"   \n\nleading blanks and a \\ backslash\n", None),
        (b"", None),
    ],
)
def test_messages(tmp_path, message, encoding):
    commits = [c([], {"v1": b"1"}), c([0], {"v1": b"2"}, message=message, encoding=encoding, when=1_700_000_060)]
    build(tmp_path, commits, {"main": 1})
    both(tmp_path)


@pytest.mark.parametrize(
    "author",
    [
        b"  .Dr. Jane Doe, Jr.;  <\"jane\"@example.com.>",
        b"Zo\xeb Latin-1 <z@x>",
        b"tab\tand back\\slash <a\\b@x>",
        b"x <>",
    ],
)
def test_odd_identities(tmp_path, author):
    commits = [c([], {"v1": b"1"}, author=author, committer=author, tz=b"-0000")]
    build(tmp_path, commits, {"main": 0})
    both(tmp_path)


@pytest.mark.parametrize("author", [b", <x@y>", b" <x@y>", b"name ends in backslash\\ <x@y>"])
def test_identities_the_script_refuses(tmp_path, author):
    build(tmp_path, [c([], {"v1": b"1"}, author=author)], {"main": 0})
    expected, stderr = oracle(tmp_path, P)
    assert expected is None and "fatal" in stderr
    with pytest.raises(CascadeError):
        split.run(tmp_path, "main", P, cache=False)


def test_prefix_that_is_a_file_is_refused_like_the_script(tmp_path):
    build(tmp_path, [Commit(files={P: b"a file"})], {"main": 0})
    expected, _ = oracle_file(tmp_path)
    assert expected is None
    with pytest.raises(CascadeError):
        split.run(tmp_path, "main", P, cache=False)


def oracle_file(repo: Path):
    # The script insists the prefix exists in the work tree; here it is a file.
    (repo / P).write_bytes(b"a file")
    proc = subprocess.run(["git", "subtree", "split", "-q", f"--prefix={P}", "main"], cwd=repo, capture_output=True)
    return (proc.stdout.decode().strip() or None) if proc.returncode == 0 else None, proc.stderr


# -- histories made by the real git subtree


def sh(repo: Path, *args: str) -> str:
    return subprocess.run(args, cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def commit_file(repo: Path, path: str, text: str, message: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "-m", message)


@pytest.fixture
def upstream(make_repo):
    repo = make_repo("upstream")
    commit_file(repo.path, "V1.sql", "one", "upstream one")
    commit_file(repo.path, "V2.sql", "two", "upstream two")
    return repo.path


@pytest.mark.parametrize("squash", [False, True])
def test_real_subtree_add_and_merge(make_repo, upstream, squash):
    parent = make_repo("parent").path
    commit_file(parent, "app.txt", "app", "app")
    flags = ["--squash"] if squash else []
    sh(parent, "git", "subtree", "add", "-q", f"--prefix={P}", *flags, str(upstream), "main")
    commit_file(parent, f"{P}/V3.sql", "three", "three in the parent")
    commit_file(upstream, "V4.sql", "four", "upstream four")
    sh(parent, "git", "subtree", "pull", "-q", f"--prefix={P}", *flags, "-m", "pull upstream", str(upstream), "main")
    commit_file(parent, "app.txt", "app 2", "app 2")
    both(parent)


def test_real_split_rejoin_then_more_commits(make_repo):
    parent = make_repo("parent").path
    commit_file(parent, f"{P}/V1.sql", "one", "one")
    commit_file(parent, "app.txt", "a", "app")
    commit_file(parent, f"{P}/V2.sql", "two", "two")
    sh(parent, "git", "subtree", "split", "-q", f"--prefix={P}", "--rejoin")
    commit_file(parent, f"{P}/V3.sql", "three", "three")
    commit_file(parent, "app.txt", "b", "app b")
    both(parent)
    sh(parent, "git", "subtree", "split", "-q", f"--prefix={P}", "--rejoin", "--squash")
    commit_file(parent, f"{P}/V4.sql", "four", "four")
    both(parent)


@pytest.mark.parametrize("prefix, quote_path", [("café", None), ("café", "false"), ("a b", None)])
def test_prefixes_ls_tree_quotes(tmp_path, prefix, quote_path):
    """The script compares ls-tree's quoted name with the prefix: a non-ASCII folder fails unless
    core.quotePath is false. We fail, or succeed, alike."""
    build(tmp_path, [c([], {"v1": b"1"}, prefix=prefix)], {"main": 0})
    if quote_path:
        subprocess.run(["git", "config", "core.quotePath", quote_path], cwd=tmp_path, check=True)
    expected, stderr = oracle(tmp_path, prefix)
    if expected is None:
        assert "assertion failed" in stderr
        with pytest.raises(CascadeError):
            split.run(tmp_path, "main", prefix, cache=False)
    else:
        assert split.run(tmp_path, "main", prefix, cache=False).tip == expected


@pytest.mark.parametrize("setting", ["i18n.commitEncoding", "i18n.logOutputEncoding"])
def test_repository_encoding_settings(tmp_path, setting):
    commits = [
        c([], {"v1": b"1"}, message=b"caf\xe9 latin-1\n", encoding=b"ISO-8859-1", author=b"Zo\xeb <z@x>"),
        c([0], {"v1": b"2"}, message=b"caf\xc3\xa9 utf-8\n", author=b"Zo\xc3\xab <z@x>", when=1_700_000_060),
    ]
    build(tmp_path, commits, {"main": 1})
    subprocess.run(["git", "config", setting, "ISO-8859-1"], cwd=tmp_path, check=True)
    both(tmp_path)
