"""`ddl-cascade demo`: the seed's playground, built for real and cascaded through two channels, every step printed.

It builds, in one folder:
    shared-flyway-ddl/                     the parent (a work tree), with cascade.toml
        read-write-flyway-files/sql/       V1-V4 (V4: the seed's orders table: constraints, indexes, sample data)
        read-write-flyway-files/callbacks/ 16 Flyway SQL callbacks (valid event names)
        read-write-flyway-files/yaml/      the shared Flyway configuration
    remotes/<child>.git                    four bare children, as on a code host: flyway-1-pipeline,
                                           flyway-1-grants (channel dev), flyway-2-pipeline, flyway-2-grants
                                           (channel prod); each has a README, a flyway.toml and local migrations of
                                           its own (V1001+)
Then it runs, as a user would (the same CLI, in the parent): validate, full, status; adds V5 (a reviewed change
merged to main) and runs validate, full and status again: the dev children get V5, the prod children stay in sync
with prod's commit. Then `promote prod` passes its gate (every dev child took V5), and sync and status bring and show
V5 in the prod children too. All SQL is valid PostgreSQL, so `db verify` can replay it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ddl_cascade import git
from ddl_cascade.errors import CascadeError

SOURCE = "read-write-flyway-files"
PREFIX = "read-only-flyway-files"
CHILDREN = {
    "flyway-1-pipeline": ("env-1", "pipeline"),
    "flyway-1-grants": ("env-1", "grants"),
    "flyway-2-pipeline": ("env-2", "pipeline"),
    "flyway-2-grants": ("env-2", "grants"),
}
# Each child's channel (`[channels] order = ["dev", "prod"]`): env-1 is development, env-2 production.
CHANNELS = ("dev", "prod")
CHANNEL = {
    "flyway-1-pipeline": "dev",
    "flyway-1-grants": "dev",
    "flyway-2-pipeline": "prod",
    "flyway-2-grants": "prod",
}
IDENTITY = {"GIT_AUTHOR_NAME": "Demo Author", "GIT_AUTHOR_EMAIL": "author@example.com",
            "GIT_COMMITTER_NAME": "Demo Author", "GIT_COMMITTER_EMAIL": "author@example.com"}

MIGRATIONS = {
    "V1__create_customers.sql": """\
-- Customers who place orders.
CREATE TABLE customers (
    id          BIGSERIAL PRIMARY KEY,
    email       TEXT        NOT NULL UNIQUE,
    full_name   TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
""",
    "V2__create_products.sql": """\
-- The product catalogue.
CREATE TABLE products (
    id           BIGSERIAL PRIMARY KEY,
    sku          TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    price_cents  INTEGER NOT NULL CHECK (price_cents >= 0),
    active       BOOLEAN NOT NULL DEFAULT TRUE
);
""",
    "V3__create_audit_log.sql": """\
-- Who changed what, written by the applications.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    table_name  TEXT        NOT NULL,
    row_id      BIGINT      NOT NULL,
    action      TEXT        NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    changed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_table_row_idx ON audit_log (table_name, row_id);
""",
    "V4__create_orders.sql": """\
-- Orders: constraints, indexes and sample data (the seed's V4, merged through PR #1).
CREATE TABLE orders (
    id           BIGSERIAL PRIMARY KEY,
    customer_id  BIGINT      NOT NULL REFERENCES customers (id),
    product_id   BIGINT      NOT NULL REFERENCES products (id),
    quantity     INTEGER     NOT NULL CHECK (quantity > 0),
    status       TEXT        NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
    total_cents  INTEGER     NOT NULL CHECK (total_cents >= 0),
    ordered_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT orders_customer_product_time_uq UNIQUE (customer_id, product_id, ordered_at)
);

CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX orders_status_idx ON orders (status) WHERE status <> 'shipped';

INSERT INTO customers (email, full_name) VALUES
    ('ada@example.com', 'Ada Lovelace'),
    ('alan@example.com', 'Alan Turing');

INSERT INTO products (sku, name, price_cents) VALUES
    ('BOOK-001', 'Notes on the Analytical Engine', 2500),
    ('BOOK-002', 'On Computable Numbers', 1800);

INSERT INTO orders (customer_id, product_id, quantity, status, total_cents, ordered_at)
SELECT c.id, p.id, 2, 'paid', 2 * p.price_cents, TIMESTAMPTZ '2025-11-08 10:00:00+00'
FROM customers c JOIN products p ON p.sku = 'BOOK-001'
WHERE c.email = 'ada@example.com';

INSERT INTO orders (customer_id, product_id, quantity, status, total_cents, ordered_at)
SELECT c.id, p.id, 1, 'pending', p.price_cents, TIMESTAMPTZ '2025-11-08 11:30:00+00'
FROM customers c JOIN products p ON p.sku = 'BOOK-002'
WHERE c.email = 'alan@example.com';
""",
}

V5 = ("V5__add_orders_shipped_at.sql", """\
-- When an order left the warehouse (nullable: existing rows stay valid, no table rewrite).
ALTER TABLE orders ADD COLUMN shipped_at TIMESTAMPTZ;
""")

# 16 SQL callbacks, each named after a real Flyway event.
CALLBACK_EVENTS = [
    "beforeMigrate", "beforeEachMigrate", "beforeEachMigrateStatement", "afterEachMigrateStatement",
    "afterEachMigrate", "afterEachMigrateError", "afterMigrate", "afterMigrateApplied", "afterVersioned",
    "afterMigrateError", "beforeValidate", "afterValidate", "beforeInfo", "afterInfo", "beforeRepair", "afterRepair",
]

YAML = """\
# Shared Flyway settings every child uses (its own flyway.toml points at these folders).
flyway:
  defaultSchema: public
  table: flyway_schema_history
  validateMigrationNaming: true
  outOfOrder: false
  locations:
    - filesystem:read-only-flyway-files/sql
    - filesystem:read-only-flyway-files/callbacks
    - filesystem:local-flyway-files/sql
"""


def _callback(event: str) -> str:
    return f"-- Flyway callback {event}: runs on the {event} event; a harmless marker.\nSELECT 1;\n"


def _child_files(name: str) -> dict[str, str]:
    env, kind = CHILDREN[name]
    table = name.replace("-", "_")
    if kind == "pipeline":
        local = {
            f"local-flyway-files/sql/V1001__create_{table}_runs.sql":
                f"CREATE TABLE {table}_runs (\n    id BIGSERIAL PRIMARY KEY,\n    started_at TIMESTAMPTZ NOT NULL "
                f"DEFAULT now(),\n    succeeded BOOLEAN\n);\n",
            f"local-flyway-files/sql/V1002__index_{table}_runs.sql":
                f"CREATE INDEX {table}_runs_started_idx ON {table}_runs (started_at);\n",
        }
    else:
        local = {
            f"local-flyway-files/sql/V1001__create_{table}_readers.sql":
                f"CREATE TABLE {table}_readers (\n    id BIGSERIAL PRIMARY KEY,\n    role_name TEXT NOT NULL UNIQUE\n);\n",
            "local-flyway-files/sql/V1002__grant_read_on_orders.sql":
                "GRANT SELECT ON customers, products, orders TO PUBLIC;\n",
        }
    return {
        "README.md": (f"# {name}\n\nFlyway project for the {kind} database in {env}.\n\n"
                      f"- `{PREFIX}/` comes from shared-flyway-ddl through ddl-cascade. Do not edit it here.\n"
                      "- `local-flyway-files/sql/` holds this repository's own migrations (versions 1001+).\n"),
        "flyway.toml": ('[flyway]\nlocations = ["filesystem:read-only-flyway-files/sql", '
                        '"filesystem:read-only-flyway-files/callbacks", "filesystem:local-flyway-files/sql"]\n'),
        **local,
    }


def _cascade_toml() -> str:
    lines = [
        "# ddl-cascade configuration of the demo parent.",
        "[source]", f'path = "{SOURCE}"', 'branch = "main"', 'delivery_branch = "ro-shared-ddl"', "",
        "[defaults]", f'prefix = "{PREFIX}"', 'branch = "main"', 'mode = "squash"',
        'local_paths = ["local-flyway-files/sql"]', "",
        "[sync]", 'author = "ddl-cascade demo <ddl-cascade@example.com>"', "",
        "# Every publish reaches the dev children; the prod children get it after `ddl-cascade promote prod`.",
        "[channels]", "order = [" + ", ".join(f'"{c}"' for c in CHANNELS) + "]",
    ]
    for name, tags in CHILDREN.items():
        lines += ["", "[[children]]", f'name = "{name}"', f'url = "../remotes/{name}.git"',
                  "tags = [" + ", ".join(f'"{t}"' for t in tags) + "]", f'channel = "{CHANNEL[name]}"']
    return "\n".join(lines) + "\n"


@dataclass
class DemoResult:
    root: Path
    parent: Path
    steps: list[tuple[str, int]] = field(default_factory=list)  # (command, exit code)

    @property
    def ok(self) -> bool:
        return all(code == 0 for _, code in self.steps)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _commit(repo: Path, message: str) -> None:
    git.commit_everything(repo, message, env=IDENTITY)


def build(root: Path, say: Callable[[str], None]) -> Path:
    """Create the parent and the four bare children under `root`; returns the parent's path."""
    parent = root / "shared-flyway-ddl"
    remotes = root / "remotes"
    say(f"Building the playground in {root}")
    git.init(parent)
    _write(parent, {"README.md": "# shared-flyway-ddl\n\nThe shared DDL. Edit `read-write-flyway-files/` through "
                                 "pull requests; ddl-cascade delivers it to every child.\n",
                    "cascade.toml": _cascade_toml()})
    _commit(parent, "Parent repository with its cascade.toml")
    for i, (name, text) in enumerate(MIGRATIONS.items(), start=1):
        files = {f"{SOURCE}/sql/{name}": text}
        if i == 1:
            files.update({f"{SOURCE}/callbacks/{event}.sql": _callback(event) for event in CALLBACK_EVENTS})
            files[f"{SOURCE}/yaml/flyway.yaml"] = YAML
        _write(parent, files)
        _commit(parent, f"Merge pull request #{i}: {name.split('__')[0]} {name.split('__')[1][:-4].replace('_', ' ')}")
    say(f"  parent  {parent.name}: V1-V4, {len(CALLBACK_EVENTS)} callbacks, yaml/flyway.yaml")

    for name in CHILDREN:
        bare = remotes / f"{name}.git"
        git.init(bare, bare=True)
        seed = root / ".seed" / name
        git.init(seed)
        _write(seed, _child_files(name))
        _commit(seed, f"{name}: README, flyway.toml and local migrations")
        git.push_ref(seed, str(bare), "refs/heads/main")
        say(f"  child   remotes/{name}.git: README.md, flyway.toml, local-flyway-files/sql/V1001, V1002")
    import shutil

    shutil.rmtree(root / ".seed", ignore_errors=True)
    return parent


def _run_cli(parent: Path, args: list[str], say: Callable[[str], None]) -> int:
    say(f"\n$ ddl-cascade {' '.join(args)}")
    env = dict(os.environ, **IDENTITY)
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run([sys.executable, "-m", "ddl_cascade", *args], cwd=parent, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout.rstrip("\n").splitlines():
        say(line)
    say(f"(exit code {proc.returncode})")
    return proc.returncode


def run(directory: Path | None, say: Callable[[str], None] = print) -> DemoResult:
    """Build the playground in `directory` (a new temporary folder when None) and cascade V1-V4, then V5 to the dev
    children, then, promoted, to the prod children."""
    if directory is None:
        root = Path(tempfile.mkdtemp(prefix="ddl-cascade-demo-"))
    else:
        root = directory.resolve()
        if root.exists() and not root.is_dir():
            raise CascadeError(f"demo folder {root} is a file, not a folder; give a new or empty folder.")
        if root.exists() and any(root.iterdir()):
            raise CascadeError(f"demo folder {root} is not empty; give a new or empty folder.")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way higher up, no permission, a read-only file system
            raise CascadeError(f"cannot create demo folder {root}: {exc.strerror or exc}.") from None
    parent = build(root, say)
    result = DemoResult(root, parent)

    say("\nStep 1: validate the parent's migrations (what CI runs on every pull request).")
    result.steps.append(("validate", _run_cli(parent, ["validate"], say)))
    say("\nStep 2: publish the delivery branch and cascade it to the four children (two dev, two prod).")
    result.steps.append(("full", _run_cli(parent, ["full"], say)))
    say("\nStep 3: check every child by tree id, against its channel's commit.")
    result.steps.append(("status", _run_cli(parent, ["status"], say)))

    say(f"\nStep 4: a second reviewed change lands on main: {V5[0]}.")
    _write(parent, {f"{SOURCE}/sql/{V5[0]}": V5[1]})
    _commit(parent, "Merge pull request #5: V5 add orders shipped_at")
    result.steps.append(("validate", _run_cli(parent, ["validate"], say)))
    say("\nStep 5: publish and sync: V5 reaches the dev children; prod's commit has not moved, so the prod children "
        "stay where they are (in sync with prod).")
    result.steps.append(("full", _run_cli(parent, ["full"], say)))
    result.steps.append(("status", _run_cli(parent, ["status"], say)))

    say("\nStep 6: promote prod: its gate checks that every dev child took V5, then moves prod to dev's commit.")
    result.steps.append(("promote prod", _run_cli(parent, ["promote", "prod"], say)))
    say("\nStep 7: the next sync brings V5 to the prod children.")
    result.steps.append(("sync", _run_cli(parent, ["sync"], say)))
    result.steps.append(("status", _run_cli(parent, ["status"], say)))

    say("\n" + ("Demo complete." if result.ok else "Demo finished with failures (see the exit codes above)."))
    say(f"  parent:   {parent}")
    say(f"  children: {root / 'remotes'}")
    say(f"  try:      cd {parent} && ddl-cascade status --json")
    return result


@dataclass
class DemoStep:
    command: str
    exit_code: int


@dataclass
class DemoReport:
    """`demo --json`: where the playground is, and each command the demo ran with its exit code."""

    root: str
    parent: str
    ok: bool
    steps: list[DemoStep]

    @classmethod
    def of(cls, result: DemoResult) -> "DemoReport":
        return cls(str(result.root), str(result.parent), result.ok, [DemoStep(c, code) for c, code in result.steps])
