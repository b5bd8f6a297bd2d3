"""The cache of children: incremental fetch, unreachable children, and reading a child's files through it."""

from __future__ import annotations

from pathlib import Path

from ddl_cascade import config as cfgmod
from ddl_cascade import git
from ddl_cascade.cascade.cache import ChildCache, child_ref


def _config(parent: Path, children: list[tuple[str, str]]) -> cfgmod.Config:
    text = '[source]\npath = "read-write-flyway-files"\n'
    for name, url in children:
        text += f'\n[[children]]\nname = "{name}"\nurl = "{url}"\n'
    (parent / "cascade.toml").write_text(text)
    return cfgmod.load(parent / "cascade.toml")


def _child(make_repo, name: str, files: dict[str, str]):
    work = make_repo(f"{name}-work")
    work.commit(files, "local")
    bare = make_repo(f"{name}.git", bare=True)
    work.git("push", "-q", str(bare.path), "HEAD:main")
    return work, bare


def test_fetch_reads_children_incrementally_and_reports_unreachable(make_repo):
    parent = make_repo("parent")
    parent.commit({"read-write-flyway-files/sql/V1__a.sql": "create table a (id int);\n"}, "V1")
    work, bare = _child(make_repo, "c1", {"README.md": "c1\n", "db/V100__own.sql": "select 1;\n"})
    secret = "https://x-access-token:s3cret@127.0.0.1:9/x.git"
    config = _config(parent.path, [("c1", str(bare.path)), ("gone", secret)])

    cache = ChildCache(config)
    assert cache.path.is_relative_to(parent.path / ".git")
    got = cache.fetch(config.children, jobs=2)
    assert got["c1"].tip == work.head() and got["c1"].transferred and got["c1"].error is None
    assert got["gone"].tip is None and got["gone"].error
    assert "s3cret" not in got["gone"].error

    with git.ObjectReader(cache.path) as reader:
        oid, kind, data = reader.read(f"{got['c1'].tip}:db/V100__own.sql")
        assert kind == "blob" and data == b"select 1;\n"
        # the parent's objects are readable too (alternates), so delivered trees need no copy
        assert reader.read(f"{parent.head()}^{{tree}}") is not None

    # unchanged child: no transfer; a new commit: fetched
    again = ChildCache(config).fetch(config.children[:1])
    assert again["c1"].tip == work.head() and not again["c1"].transferred
    new = work.commit({"db/V101__own.sql": "select 2;\n"}, "more")
    work.git("push", "-q", str(bare.path), "HEAD:main")
    third = ChildCache(config).fetch(config.children[:1])
    assert third["c1"].tip == new and third["c1"].transferred
    assert git.rev_parse(cache.path, child_ref("c1")) == new


def test_missing_branch_is_reachable_with_no_tip(make_repo):
    parent = make_repo("parent")
    parent.commit({"read-write-flyway-files/a": "a\n"}, "a")
    empty = make_repo("empty.git", bare=True)
    config = _config(parent.path, [("empty", str(empty.path))])
    got = ChildCache(config).fetch(config.children)
    assert got["empty"].tip is None and got["empty"].error is None


def test_child_ref_encodes_odd_names():
    assert child_ref("flyway-1-pipeline") == "refs/children/flyway-1-pipeline"
    assert child_ref("a b/..") .startswith("refs/children/x-")


def test_packs_are_indexed_then_merged_and_stay_readable(make_repo, monkeypatch):
    import ddl_cascade.cascade.cache as cache_mod

    parent = make_repo("parent")
    parent.commit({"read-write-flyway-files/a": "a\n"}, "a")
    children = []
    for i in range(3):
        work, bare = _child(make_repo, f"k{i}", {f"own{i}.sql": f"select {i};\n"})
        children.append((f"k{i}", str(bare.path)))
    config = _config(parent.path, children)
    cache = ChildCache(config)
    got = cache.fetch(config.children)
    packs = lambda: sorted((cache.path / "objects" / "pack").glob("*.pack"))  # noqa: E731
    assert len(packs()) == 3  # one pack per fetch
    cache.maintain()
    assert (cache.path / "objects" / "pack" / "multi-pack-index").is_file()
    monkeypatch.setattr(cache_mod, "MERGE_PACKS_AT", 1)
    cache.transferred = True
    cache.maintain()
    assert len(packs()) == 1
    with git.ObjectReader(cache.path) as reader:
        for i in range(3):
            assert reader.read(f"{got[f'k{i}'].tip}:own{i}.sql")[2] == f"select {i};\n".encode()
