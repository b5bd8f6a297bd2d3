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


# --- Questions the split engine and publish ask: each answer is held to what git itself prints.


import subprocess  # noqa: E402

import pytest  # noqa: E402


def _history(make_repo):
    """main: root, a (adds sub/), then the merge of side; side: b, on root."""
    repo = make_repo("hist")
    root = repo.commit({"top.txt": "0"}, "root")
    a = repo.commit({"sub/x.sql": "x"}, "a")
    repo.git("checkout", "-q", "-b", "side", root)
    b = repo.commit({"other.txt": "b"}, "b")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "merge side", "side")
    return repo, root, a, b, repo.head()


def _rev_list(repo, *args):
    return [(line.split()[0], line.split()[1:]) for line in
            repo.git("rev-list", "--topo-order", "--reverse", "--parents", *args, "--").splitlines()]


def test_repo_facts(tmp_path, make_repo):
    repo = make_repo("facts")
    tip = repo.commit({"a": "a"})
    facts = git.repo_facts(repo.path, "main")
    assert (facts.shallow, facts.commit, facts.commit_encoding) == (False, tip, None)
    assert facts.common_dir == (repo.path / ".git").resolve()
    assert facts.objects_dir == (repo.path / ".git" / "objects").resolve()
    assert git.repo_facts(repo.path, "no-such-branch").commit is None
    repo.git("config", "i18n.commitEncoding", "ISO-8859-1")
    assert git.repo_facts(repo.path, "main").commit_encoding == "ISO-8859-1"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git.repo_facts(plain, "main") is None
    repo.commit({"b": "b"})
    shallow = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth=1", f"file://{repo.path}", str(shallow))
    assert git.repo_facts(shallow, "HEAD").shallow is True


@pytest.mark.parametrize("quote_path", [None, "false"])
def test_ls_tree_quotes_agrees_with_ls_tree(make_repo, quote_path):
    repo = make_repo("quotes")
    if quote_path:
        repo.git("config", "core.quotePath", quote_path)
    for name in ["plain", "with space", 'quo"te', "back\\slash", "tab\tname", "caf\u00e9"]:
        repo.commit({f"{name}/f": "x"}, name)
        printed = repo.git("ls-tree", "HEAD", "--", name).split("\t", 1)[1]
        assert git.ls_tree_quotes(repo.path, name) == (printed != name), name


def test_topo_walk_and_path_lookups_match_rev_list(tmp_path, make_repo):
    repo, root, a, b, merge = _history(make_repo)
    repo.commit({"sub/x.sql": None}, "drop sub")
    (repo.path / "sub").rmdir()
    tip = repo.commit({"sub": "now a file"}, "sub is a file")
    assert git.start_topo_walk(repo.path, tip).result() == _rev_list(repo, tip)
    assert git.start_topo_walk(repo.path, tip, [a, b]).result() == _rev_list(repo, tip, f"^{a}", f"^{b}")
    walk, found = git.topo_walk_with_path(repo.path, tip, "sub")
    assert walk == _rev_list(repo, tip)
    assert found[root] is None and found[b] is None
    assert found[a] == (repo.tree(a, "sub"), "tree") and found[merge] == (repo.tree(merge, "sub"), "tree")
    assert found[tip] == (repo.git("rev-parse", f"{tip}:sub"), "blob")
    assert git.start_topo_walk(repo.path, tip, ["4" * 40]).result() == _rev_list(repo, tip)  # missing: ignored
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(git.GitError):
        git.start_topo_walk(plain, tip).result()


def test_subtree_trailer_log_is_the_text_find_existing_splits_reads(make_repo):
    repo = make_repo("trailers")
    repo.commit({"a": "a"}, "plain")
    marked = repo.commit({"b": "b"}, "Split 'sub/'\n\ngit-subtree-dir: sub\ngit-subtree-split: abc\n")
    other = repo.commit({"c": "c"}, "Other\n\ngit-subtree-dir: elsewhere\n")
    text = git.start_subtree_trailer_log(repo.path, "sub", other).result()
    assert text == (f"START {marked}\nSplit 'sub/'\n\ngit-subtree-dir: sub\ngit-subtree-split: abc\n\nEND\n"
                    ).encode()
    assert git.start_subtree_trailer_log(repo.path, "sub", other, [marked]).result() == b""


def test_has_commits_outside(make_repo):
    repo, root, a, b, merge = _history(make_repo)
    assert git.has_commits_outside(repo.path, [a, b], merge) is False
    assert git.has_commits_outside(repo.path, [merge], a) is True
    with pytest.raises(git.GitError):
        git.has_commits_outside(repo.path, ["1" * 40], merge)


def test_objects_answer_in_trees_paths_and_parents(make_repo):
    repo, root, a, b, merge = _history(make_repo)
    repo.git("tag", "-a", "-m", "annotated", "v1", a)
    info = git.Objects(repo.path)
    try:
        assert info.commit("v1") == a and info.commit("nope") is None
        assert info.first_parent(merge) == a and info.first_parent(root) is None
        assert info.path_in(a, "sub") == (repo.tree(a, "sub"), "tree") and info.path_in(root, "sub") is None
        assert info.paths_in([root, a], "sub/x.sql") == [None, (repo.git("rev-parse", f"{a}:sub/x.sql"), "blob")]
        assert info.tree_of(merge) == repo.tree(merge) and info.tree_of("2" * 40) is None
        assert info.trees_of([a, "2" * 40]) == [repo.tree(a), None]
        assert info.present([a, "2" * 40, repo.tree(b)]) == [True, False, True]
    finally:
        info.close()


def test_commit_reader_parents(make_repo):
    repo, root, a, b, merge = _history(make_repo)
    with git.CommitReader(repo.path) as reader:
        assert reader.parents(merge) == [a, b]
        assert reader.parents(root) == []
        assert reader.parents(repo.tree(a)) is None
        assert reader.parents("3" * 40) is None


def test_copy_texts_are_what_git_log_formats(make_repo):
    repo, root, a, b, merge = _history(make_repo)
    fmt = "--pretty=format:%an%n%ae%n%aD%n%cn%n%ce%n%cD%n%B"
    texts = git.CopyTexts(repo.path, [merge, root, b])
    try:
        for rev in (root, b, merge):  # any order: the ones asked later are kept until asked for
            expected = subprocess.run(["git", "log", "-1", "--no-show-signature", fmt, rev], cwd=repo.path,
                                      capture_output=True, check=True).stdout
            assert texts.get(rev) == expected
        assert texts.get(a) is None  # not asked for
    finally:
        texts.close()


def test_refs_rev_count_and_push_ref(tmp_path, make_repo):
    repo, root, a, b, merge = _history(make_repo)
    refs = git.start_refs(repo.path, ["refs/heads/main", "refs/heads/side", "refs/heads/none"]).result()
    assert refs == {"refs/heads/main": merge, "refs/heads/side": b}
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git.start_refs(plain, ["refs/heads/main"]).result() == {}
    assert git.rev_count(repo.path, None, merge) == (0, 4)
    assert git.rev_count(repo.path, b, a) == (1, 1)
    assert git.rev_count(repo.path, a, merge) == (0, 2)
    remote = make_repo("remote.git", bare=True)
    git.push_ref(repo.path, str(remote.path), "refs/heads/side")
    assert remote.head("refs/heads/side") == b
    repo.git("branch", "-f", "side", a)  # not a fast-forward of b
    with pytest.raises(git.GitError):
        git.push_ref(repo.path, str(remote.path), "refs/heads/side")
    git.push_ref(repo.path, str(remote.path), "refs/heads/side", force=True)
    assert remote.head("refs/heads/side") == a


def test_init_and_commit_everything(tmp_path):
    work = tmp_path / "new" / "work"
    git.init(work)
    (work / "f.txt").write_text("f")
    git.commit_everything(work, "first", env={"GIT_AUTHOR_NAME": "Demo", "GIT_AUTHOR_EMAIL": "d@example.com"})
    assert subprocess.run(["git", "log", "-1", "--format=%an %s", "main"], cwd=work, capture_output=True,
                          text=True, check=True).stdout.strip() == "Demo first"
    bare = tmp_path / "remotes" / "child.git"
    git.init(bare, bare=True)
    assert subprocess.run(["git", "rev-parse", "--is-bare-repository"], cwd=bare, capture_output=True, text=True,
                          check=True).stdout.strip() == "true"
