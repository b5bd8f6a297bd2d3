"""The git adapter: the one way ddl-cascade runs git."""

from __future__ import annotations

from ddl_cascade import git


def test_inherited_git_dir_does_not_redirect_calls(make_repo, monkeypatch):
    # A pre-commit hook runs with GIT_DIR/GIT_INDEX_FILE of the repository being committed to; calls that name
    # another repository by cwd must still reach that other repository.
    hooked = make_repo("hooked")
    hooked.commit({"a.txt": "a"}, "hooked")
    other = make_repo("other")
    expected = other.commit({"b.txt": "b"}, "other")
    monkeypatch.setenv("GIT_DIR", str(hooked.path / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(hooked.path / ".git" / "index"))
    assert git.rev_parse(other.path, "HEAD") == expected
    assert git.toplevel(other.path) == other.path.resolve()


def test_written_objects_have_git_ids_and_read_back(make_repo):
    repo = make_repo("bare", bare=True)
    body = git.commit_bytes(git.EMPTY_TREE, [], "A <a@x> 1700000000 +0000", "A <a@x> 1700000000 +0000", "m\n")
    tree = git.tree_bytes([])
    ids = git.write_objects(repo.path, [("tree", tree), ("commit", body)])
    assert ids == [git.EMPTY_TREE, git.object_id("commit", body)]
    assert repo.git("cat-file", "-t", ids[1]) == "commit"
    assert repo.git("rev-parse", f"{ids[1]}^{{tree}}") == git.EMPTY_TREE
    # Writing again is a no-op that returns the same ids.
    assert git.write_objects(repo.path, [("commit", body)]) == [ids[1]]


def test_common_dir_is_the_shared_git_dir_and_a_no_is_not_remembered(tmp_path, make_repo):
    plain = tmp_path / "later"
    plain.mkdir()
    assert git.common_dir(plain) is None
    repo = make_repo("later")  # the same folder becomes a repository
    assert git.common_dir(repo.path) == (repo.path / ".git").resolve()
    repo.commit({"a": "a"})
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"))
    assert git.common_dir(tmp_path / "wt") == (repo.path / ".git").resolve()
