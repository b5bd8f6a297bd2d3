"""A parent with a delivery branch and bare children, built with the real git (and real `git subtree split`)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from gitrepo import Repo

SOURCE = "read-write-flyway-files"
PREFIX = "read-only-flyway-files"


@dataclass
class World:
    root: Path
    parent: Repo
    children: dict[str, Repo] = field(default_factory=dict)  # name -> bare repo
    modes: dict[str, str] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    extra: list[tuple[str, str]] = field(default_factory=list)  # extra (name, url) children

    @property
    def config_path(self) -> Path:
        return self.parent.path / "cascade.toml"

    def write_config(self, author: str | None = None) -> Path:
        text = f'[source]\npath = "{SOURCE}"\n'
        if author:
            text += f'\n[sync]\nauthor = "{author}"\n'
        for name, bare in self.children.items():
            text += f'\n[[children]]\nname = "{name}"\nurl = "{bare.path}"\nmode = "{self.modes[name]}"\n'
            text += f'branch = "{self.branches.get(name, "main")}"\n'
        for name, url in self.extra:
            text += f'\n[[children]]\nname = "{name}"\nurl = "{url}"\n'
        self.config_path.write_text(text)
        return self.config_path

    def config(self):
        from ddl_cascade import config

        return config.load(self.write_config())

    def deliver(self, files: dict[str, str | None], message: str) -> str:
        """Commit to the parent's source folder and move the delivery branch with the real `git subtree split`."""
        self.parent.commit({f"{SOURCE}/{k}": v for k, v in files.items()}, message)
        return self.split()

    def split(self) -> str:
        out = self.parent.git("subtree", "split", f"--prefix={SOURCE}", "main")
        self.parent.git("update-ref", "refs/heads/ro-shared-ddl", out.strip())
        return out.strip()

    def add_child(self, name: str, mode: str = "squash", files: dict[str, str] | None = None,
                  branch: str = "main") -> Repo:
        work = Repo.init(self.root / f"{name}-seed")
        work.commit(files or {"README.md": f"# {name}\n", f"db/V100__{name.replace('-', '_')}.sql": "select 1;\n"},
                    "child's own files")
        bare = Repo.init(self.root / f"{name}.git", bare=True)
        work.git("push", "-q", str(bare.path), f"HEAD:{branch}")
        if branch != "main":
            bare.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        self.children[name] = bare
        self.modes[name] = mode
        self.branches[name] = branch
        return bare

    def clone(self, name: str, where: str | None = None) -> Repo:
        target = self.root / (where or f"{name}-clone")
        subprocess.run(["git", "clone", "-q", str(self.children[name].path), str(target)], check=True)
        return Repo(target)

    def refs(self) -> dict[str, str]:
        """Every ref of the parent and of every child (to prove a run changed none)."""
        out = {}
        for label, repo in [("parent", self.parent), *self.children.items()]:
            for line in repo.git("for-each-ref", "--format=%(objectname) %(refname)").splitlines():
                oid, ref = line.split(" ", 1)
                out[f"{label}:{ref}"] = oid
        return out


def make_world(root: Path, children: dict[str, str] | None = None) -> World:
    parent = Repo.init(root / "shared-flyway-ddl")
    world = World(root, parent)
    parent.commit({"README.md": "parent\n"}, "initial")
    world.deliver({"sql/V1__init.sql": "create table t1 (id int);\n",
                   "callbacks/afterMigrate.sql": "select 1;\n"}, "V1")
    world.deliver({"sql/V2__more.sql": "create table t2 (id int);\n"}, "V2")
    for name, mode in (children if children is not None else {"c1": "squash", "c2": "merge"}).items():
        world.add_child(name, mode)
    world.write_config()
    return world


def world_in_every_state(root: Path, unreachable_url: str) -> World:
    """Children in every state against the delivery tip: synced (in_sync), behind (merge mode, one delivery behind),
    drifted (its copy of V2 edited by hand), fresh (not_added) and gone (unreachable at `unreachable_url`)."""
    from ddl_cascade.cascade.commands import sync

    world = make_world(root, {"synced": "squash", "behind": "merge", "drifted": "squash", "fresh": "squash"})
    world.extra = [("gone", unreachable_url)]
    config = world.config()
    assert sync(config, ["synced", "behind", "drifted"]).ok
    clone = world.clone("drifted")
    clone.commit({f"{PREFIX}/sql/V2__more.sql": "create table t2 (id bigint);\n"}, "edited by hand")
    clone.git("push", "-q", "origin", "HEAD:main")
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    assert sync(config, ["synced"]).ok
    return world

