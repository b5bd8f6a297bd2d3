"""`ddl-cascade validate` end to end: real parent and child repositories, the installed CLI, every output format.

The fixture folders under tests/fixtures/flyway/ model real projects' migration folders; validate must find no
error in any of them (it must not cry wolf).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

SOURCE = "read-write-flyway-files"
FIXTURES = Path(__file__).parent / "fixtures" / "flyway"
KEYS = ["rule", "severity", "path", "line", "column", "message", "hint"]


def make_parent(make_repo, files: dict[str, str | bytes], toml: str = "", name: str = "parent"):
    repo = make_repo(name)
    repo.write({"cascade.toml": f'[source]\npath = "{SOURCE}"\n{toml}'})
    repo.write({f"{SOURCE}/{k}": v for k, v in files.items()})
    return repo


def deliver(repo) -> str:
    """Commit the work tree and point the delivery branch at the split of the source folder (its tree at the root)."""
    repo.commit(message="merge")
    split = repo.git("commit-tree", repo.tree("HEAD", SOURCE), "-m", "split")
    repo.git("update-ref", "refs/heads/ro-shared-ddl", split)
    return split


CLEAN = {
    "sql/V1__create_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);\n",
    "sql/V2__create_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n",
    "sql/R__views.sql": "CREATE OR REPLACE VIEW v_users AS SELECT id, name FROM users;\n",
    "callbacks/afterMigrate.sql": "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;\n",
    "yaml/config.yaml": "key: value\n",
}


def test_clean_parent_exits_0(make_repo, cli):
    repo = make_parent(make_repo, CLEAN)
    result = cli("validate", cwd=repo.path)
    assert result.code == 0, result
    assert "0 errors, 0 warnings in 4 files checked." in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_json_shape_and_exit_1(make_repo, cli):
    repo = make_parent(make_repo, {**CLEAN, "sql/V3__bad.sql": "SELECT 1;\nCREATE TABLE t (id int,);\n"})
    result = cli("validate", "--json", cwd=repo.path)
    assert result.code == 1, result
    doc = json.loads(result.stdout)
    assert list(doc) == ["schema_version", "findings", "files"]
    assert doc["files"] == 5
    (f,) = doc["findings"]
    assert list(f) == KEYS
    assert f == {"rule": "sql/syntax", "severity": "error", "path": f"{SOURCE}/sql/V3__bad.sql", "line": 2,
                 "column": 24, "message": 'syntax error at or near ")"', "hint": f["hint"]}
    assert f["hint"]


def test_warnings_only_exit_0(make_repo, cli):
    repo = make_parent(make_repo, {**CLEAN, "sql/V3__drop.sql": "DROP TABLE legacy_orders;\n"})
    result = cli("validate", "--json", cwd=repo.path)
    assert result.code == 0, result
    assert [(f["rule"], f["severity"]) for f in json.loads(result.stdout)["findings"]] == [
        ("lint/drop-table", "warning")]


def test_text_groups_by_file(make_repo, cli):
    repo = make_parent(make_repo, {**CLEAN, "sql/v3__x.sql": "SELECT 1;", "sql/V4__y.sql": "SELEC 1;\nSELEC 2;\n"})
    result = cli("validate", cwd=repo.path)
    assert result.code == 1
    out = result.stdout
    assert out.count(f"{SOURCE}/sql/V4__y.sql\n") == 1  # one heading per file, findings under it
    assert out.index(f"{SOURCE}/sql/V4__y.sql") < out.index("1:1") < out.index("2:1") < out.index(f"{SOURCE}/sql/v3")
    assert "naming/invalid" in out and "hint:" in out
    assert out.rstrip().endswith("3 errors, 0 warnings in 6 files checked.")


def test_github_annotations(make_repo, cli):
    files = {**CLEAN, "sql/V3__a,b.sql": "SELEC 1;\n", "sql/V4__drop.sql": "DROP TABLE legacy_orders;\n"}
    repo = make_parent(make_repo, files)
    result = cli("validate", "--format", "github", cwd=repo.path)
    assert result.code == 1
    notice, *lines = result.stdout.splitlines()
    assert notice.startswith("::notice title=ddl-cascade validate::no delivery branch")
    assert lines[0].startswith(f"::error file={SOURCE}/sql/V3__a%2Cb.sql,line=1,col=1,title=sql/syntax::"
                               'syntax error at or near "SELEC"%0A')
    assert lines[1].startswith(f"::warning file={SOURCE}/sql/V4__drop.sql,line=1,col=1,title=lint/drop-table::")
    assert lines[-1] == "1 error, 1 warning in 6 files checked."


def test_sarif(make_repo, cli):
    repo = make_parent(make_repo, {**CLEAN, "sql/V3__bad.sql": "SELEC 1;\n", "sql/V1.0__dup.sql": "SELECT 1;"})
    result = cli("validate", "--format", "sarif", cwd=repo.path)
    assert result.code == 1
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ddl-cascade"
    ids = [r["id"] for r in driver["rules"]]
    assert "sql/syntax" in ids and "lint/drop-table" in ids and len(ids) == len(set(ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["defaultConfiguration"]["level"] in ("error", "warning")
    by_rule = {r["ruleId"]: r for r in run["results"]}
    syntax = by_rule["sql/syntax"]
    assert driver["rules"][syntax["ruleIndex"]]["id"] == "sql/syntax"
    assert syntax["level"] == "error"
    loc = syntax["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == f"{SOURCE}/sql/V3__bad.sql"
    assert loc["region"] == {"startLine": 1, "startColumn": 1}
    # a whole-file finding has no region (SARIF lines start at 1)
    dup = [r for r in run["results"] if r["ruleId"] == "version/duplicate"][0]
    assert "region" not in dup["locations"][0]["physicalLocation"]


def test_bad_input_exits_2(make_repo, cli):
    repo = make_parent(make_repo, CLEAN, '[flyway]\ndialect = "cobol"\n')
    result = cli("validate", cwd=repo.path)
    assert result.code == 2 and "flyway.dialect" in result.stderr and "Traceback" not in result.stderr
    repo = make_parent(make_repo, CLEAN, name="p2")
    for args, text in [(["--format", "xml"], "--format"), (["--base", "nope"], "--base")]:
        result = cli("validate", *args, cwd=repo.path)
        assert result.code == 2 and text in result.stderr and "Traceback" not in result.stderr, result


def test_history_against_delivery_branch(make_repo, cli):
    repo = make_parent(make_repo, CLEAN)
    result = cli("validate", cwd=repo.path)
    assert "history checks were skipped" in result.stderr  # never a quiet pass
    deliver(repo)
    result = cli("validate", cwd=repo.path)
    assert result.code == 0 and result.stderr == ""
    repo.write({f"{SOURCE}/sql/V1__create_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
                f"{SOURCE}/sql/V2__create_orders.sql": None,
                f"{SOURCE}/sql/V0_5__late.sql": "SELECT 1;\n"})
    doc = json.loads(cli("validate", "--json", cwd=repo.path).stdout)
    got = sorted((f["rule"], f["path"].removeprefix(SOURCE + "/")) for f in doc["findings"])
    assert got == [("history/deleted", "sql/V2__create_orders.sql"), ("history/modified", "sql/V1__create_users.sql"),
                   ("history/out-of-order", "sql/V0_5__late.sql")]


def test_missing_location_is_noted(make_repo, cli):
    repo = make_parent(make_repo, CLEAN, '[flyway]\nsql_paths = ["migrations"]\n')
    result = cli("validate", cwd=repo.path)
    assert result.code == 0
    assert f"{SOURCE}/migrations (a location in [flyway]) does not exist" in result.stderr


def test_delivery_branch_from_remote_tracking_ref(make_repo, cli):
    """In CI the delivery branch often exists only as origin/ro-shared-ddl."""
    repo = make_parent(make_repo, CLEAN)
    split = deliver(repo)
    repo.git("update-ref", "refs/remotes/origin/ro-shared-ddl", split)
    repo.git("update-ref", "-d", "refs/heads/ro-shared-ddl")
    repo.write({f"{SOURCE}/sql/V2__create_orders.sql": None})
    doc = json.loads(cli("validate", "--json", cwd=repo.path).stdout)
    assert [f["rule"] for f in doc["findings"]] == ["history/deleted"]


def test_rule_severity_and_inline_ignore_through_cli(make_repo, cli):
    files = {**CLEAN, "sql/V3__drop.sql": "-- ddl-cascade: ignore lint/drop-table\nDROP TABLE legacy;\nTRUNCATE audit_log;\n"}
    repo = make_parent(make_repo, files, '[validate.rules]\n"lint/truncate" = "error"\n')
    result = cli("validate", "--json", cwd=repo.path)
    assert result.code == 1
    assert [(f["rule"], f["severity"], f["line"]) for f in json.loads(result.stdout)["findings"]] == [
        ("lint/truncate", "error", 3)]


# ---------------------------------------------------------------------------------------------------------------------
# --children: real child repositories behind bare remotes


def make_child(make_repo, name: str, files: dict[str, str]):
    work = make_repo(f"{name}-work")
    work.commit(files, "child's own migrations")
    remote = make_repo(f"{name}.git", bare=True)
    work.git("push", "-q", str(remote.path), "HEAD:refs/heads/main")
    return remote


def children_toml(*entries: tuple[str, str, str]) -> str:
    out = ""
    for name, url, extra in entries:
        out += f'\n[[children]]\nname = "{name}"\nurl = "{url}"\n{extra}'
    return out


def test_children_collisions(make_repo, cli):
    toml_child = make_child(make_repo, "flyway-1-pipeline", {
        "flyway.toml": '[flyway]\nlocations = ["filesystem:read-only-flyway-files/sql", "filesystem:db/own"]\n',
        "db/own/V2.0__local.sql": "SELECT 1;\n",  # = shared V2
        "db/own/V900__local.sql": "SELECT 1;\n",
        "not-a-location/V1__ignored.sql": "SELECT 1;\n",
    })
    conf_child = make_child(make_repo, "flyway-1-grants", {
        "flyway.conf": "flyway.url=jdbc:postgresql://db/x\nflyway.locations=filesystem:./sql,"
                       "filesystem:read-only-flyway-files/sql\n",
        "sql/R__views.sql": "SELECT 1;\n",  # = shared R__views
    })
    local_child = make_child(make_repo, "flyway-2-pipeline", {
        "migrations/V1__mine.sql": "SELECT 1;\n",  # = shared V1, seen through local_paths
        "migrations/afterMigrate.sql": "SELECT 1;\n",  # = shared callbacks/afterMigrate.sql
        "other/V2__not_seen.sql": "SELECT 1;\n",
    })
    callbacks_child = make_child(make_repo, "flyway-2-grants", {
        "flyway.toml": '[flyway]\nlocations = ["filesystem:sql", "filesystem:read-only-flyway-files/sql"]\n'
                       'callbackLocations = ["filesystem:own-callbacks", '
                       '"filesystem:read-only-flyway-files/callbacks"]\n',
        "sql/V1000__mine.sql": "SELECT 1;\n",
        # Callbacks come only from callbackLocations: this one is not a callback for this child's Flyway ...
        "sql/beforeMigrate.sql": "SELECT 1;\n",
        # ... while this one meets the shared callbacks/afterMigrate.sql.
        "own-callbacks/afterMigrate.sql": "SELECT 1;\n",
    })
    toml = children_toml(
        ("flyway-1-pipeline", str(toml_child.path), ""),
        ("flyway-1-grants", str(conf_child.path), ""),
        ("flyway-2-pipeline", str(local_child.path), 'local_paths = ["migrations"]\n'),
        ("flyway-2-grants", str(callbacks_child.path), 'local_paths = ["ignored-when-flyway.toml-exists"]\n'),
    )
    repo = make_parent(make_repo, CLEAN, toml)
    repo.commit(message="parent")
    assert json.loads(cli("validate", "--json", cwd=repo.path).stdout)["findings"] == []  # children only on request
    result = cli("validate", "--children", "--json", cwd=repo.path)
    assert result.code == 1, result
    got = sorted((f["rule"], f["path"].removeprefix(SOURCE + "/"), f["message"].split(":")[0])
                 for f in json.loads(result.stdout)["findings"] if f["rule"] == "child/version-collision")
    assert got == [
        ("child/version-collision", "callbacks/afterMigrate.sql", "child 'flyway-2-grants'"),
        ("child/version-collision", "callbacks/afterMigrate.sql", "child 'flyway-2-pipeline'"),
        ("child/version-collision", "sql/R__views.sql", "child 'flyway-1-grants'"),
        ("child/version-collision", "sql/V1__create_users.sql", "child 'flyway-2-pipeline'"),
        ("child/version-collision", "sql/V2__create_orders.sql", "child 'flyway-1-pipeline'"),
    ]
    message = [f["message"] for f in json.loads(result.stdout)["findings"]
               if "flyway-1-pipeline" in f["message"] and f["rule"] == "child/version-collision"][0]
    assert "db/own/V2.0__local.sql" in message


def test_children_see_the_pull_request_not_the_delivered_folder(make_repo, cli):
    """The child's read-only folder is replaced by the parent's working tree: a new shared V5 collides with the
    child's own V5 even though the child's copy of the shared folder has no V5 yet."""
    child = make_child(make_repo, "c1", {
        "read-only-flyway-files/sql/V1__create_users.sql": "CREATE TABLE users (id int);\n",
        "read-only-flyway-files/sql/V9__removed_since.sql": "SELECT 1;\n",
        "local/V5__mine.sql": "SELECT 1;\n",
        "local/V9__mine.sql": "SELECT 1;\n",
    })
    repo = make_parent(make_repo, {**CLEAN, "sql/V5__new_shared.sql": "SELECT 5;\n"},
                       children_toml(("c1", str(child.path), 'local_paths = ["local"]\n')))
    repo.commit(message="parent")
    result = cli("validate", "--children", "--json", cwd=repo.path)
    got = [(f["rule"], f["path"]) for f in json.loads(result.stdout)["findings"]]
    # V5 collides; V2 is new to this child and below its V9, so its Flyway would ignore it.
    assert got == [("child/out-of-order", f"{SOURCE}/sql/V2__create_orders.sql"),
                   ("child/version-collision", f"{SOURCE}/sql/V5__new_shared.sql")]


def test_children_out_of_order(make_repo, cli):
    """A new shared version below a child's highest version is ignored by that child's Flyway, unless outOfOrder."""
    layout = '[flyway]\nlocations = ["filesystem:read-only-flyway-files/sql", "filesystem:sql"]\n'
    received = {"read-only-flyway-files/sql/V1__users.sql": "SELECT 1;\n", "sql/V1000__own.sql": "SELECT 1;\n"}
    strict = make_child(make_repo, "strict", {"flyway.toml": layout, **received})
    relaxed = make_child(make_repo, "relaxed", {"flyway.toml": layout + "outOfOrder = true\n", **received})
    legacy = make_child(make_repo, "legacy", {"flyway.conf": "flyway.locations=filesystem:read-only-flyway-files/sql,"
                                              "filesystem:sql\nflyway.outOfOrder=true\n", **received})
    files = {"sql/V1__users.sql": "SELECT 1;\n", "sql/V2__new.sql": "SELECT 2;\n", "sql/V2000__above.sql": "SELECT 3;\n"}
    toml = children_toml(("strict", str(strict.path), ""), ("relaxed", str(relaxed.path), ""),
                         ("legacy", str(legacy.path), ""))
    repo = make_parent(make_repo, files, toml)
    repo.commit(message="parent")
    result = cli("validate", "--children", "--json", cwd=repo.path)
    assert result.code == 0, result  # a warning
    got = [(f["rule"], f["severity"], f["path"], f["message"].split(":")[0])
           for f in json.loads(result.stdout)["findings"]]
    assert got == [("child/out-of-order", "warning", f"{SOURCE}/sql/V2__new.sql", "child 'strict'")]


def test_unreachable_child_is_a_warning(make_repo, cli, tmp_path):
    repo = make_parent(make_repo, CLEAN, children_toml(("gone", str(tmp_path / "no-such-repo.git"), "")))
    repo.commit(message="parent")
    result = cli("validate", "--children", "--json", cwd=repo.path)
    assert result.code == 0, result
    (f,) = json.loads(result.stdout)["findings"]
    assert (f["rule"], f["severity"], f["path"]) == ("child/unreachable", "warning", "cascade.toml")
    assert "gone" in f["message"]


# ---------------------------------------------------------------------------------------------------------------------
# It must not cry wolf: realistic folders give no errors


def _fixture_folders() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir() and any(p.rglob("*.sql")))


def _flyway_settings(folder: Path) -> str:
    """The fixture's own Flyway configuration (flyway.toml or flyway.conf) as cascade.toml's [flyway] table."""
    import tomllib

    locations: list[str] = []
    callbacks: list[str] = []
    placeholders: dict[str, str] = {}
    if (folder / "flyway.toml").is_file():
        fw = tomllib.loads((folder / "flyway.toml").read_text())["flyway"]
        locations, callbacks = fw.get("locations", []), fw.get("callbackLocations", [])
        placeholders = fw.get("placeholders", {})
    elif (folder / "flyway.conf").is_file():
        for line in (folder / "flyway.conf").read_text().splitlines():
            key, _, value = line.partition("=")
            if key == "flyway.locations":
                locations = value.split(",")
            elif key.startswith("flyway.placeholders."):
                placeholders[key.removeprefix("flyway.placeholders.")] = value
    out = "[flyway]\n"
    if locations:
        out += f"sql_paths = {json.dumps([loc.removeprefix('filesystem:') for loc in locations])}\n"
    if callbacks:
        out += f"callback_paths = {json.dumps([loc.removeprefix('filesystem:') for loc in callbacks])}\n"
    out += "[flyway.placeholders]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in placeholders.items())
    return out


@pytest.mark.parametrize("folder", _fixture_folders(), ids=lambda p: p.name)
def test_realistic_fixture_folders_have_no_errors(make_repo, cli, folder):
    """Each fixture is a Flyway project folder; it becomes the parent's source folder, with its Flyway settings."""
    repo = make_repo("parent")
    shutil.copytree(folder, repo.path / SOURCE)
    repo.write({"cascade.toml": f'[source]\npath = "{SOURCE}"\n{_flyway_settings(folder)}'})
    result = cli("validate", "--json", cwd=repo.path)
    errors = [f for f in json.loads(result.stdout)["findings"] if f["severity"] == "error"]
    assert errors == [] and result.code == 0, result.stderr


def test_generated_benchmark_folder_is_clean(tmp_path, cli):
    """The bench's 2,000-file generator, at a small size: realistic content, half of it delivered."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_validate", Path(__file__).parents[1] / "bench" / "validate.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    parent = bench.build(tmp_path, 120)
    result = cli("validate", "--json", cwd=parent)
    doc = json.loads(result.stdout)
    assert result.code == 0 and doc["files"] == 120
    assert doc["findings"] == []


def test_children_realistic_platform_child(make_repo, cli):
    """The `platform` fixture is a real-world child (shared folder + own migrations from V1000, flyway.toml). With
    the parent delivering exactly its shared folder there is no collision; a shared V1000 or a shared repeatable
    with the child's view description collides."""
    fixture = FIXTURES / "platform"
    child_files = {p.relative_to(fixture).as_posix(): p.read_text(encoding="utf-8")
                   for p in fixture.rglob("*") if p.is_file()}
    child = make_child(make_repo, "platform", child_files)
    shared = {p.relative_to(fixture / "read-only-flyway-files").as_posix(): text
              for p in (fixture / "read-only-flyway-files").rglob("*") if p.is_file()
              for text in [p.read_text(encoding="utf-8")]}
    toml = children_toml(("platform", str(child.path), ""))
    toml = '[flyway.placeholders]\nservice_name = "notifications"\ndefault_plan = "free"\n' + toml
    repo = make_parent(make_repo, shared, toml)
    repo.commit(message="parent")
    result = cli("validate", "--children", "--json", cwd=repo.path)
    assert result.code == 0 and json.loads(result.stdout)["findings"] == [], result
    repo.write({f"{SOURCE}/sql/V1000__shared_too.sql": "SELECT 1;\n",
                f"{SOURCE}/sql/R__notification_queue_view.sql": "SELECT 1;\n"})
    doc = json.loads(cli("validate", "--children", "--json", cwd=repo.path).stdout)
    # V1000 collides (and is not reported out of order on top of that).
    assert sorted((f["rule"], f["path"].removeprefix(SOURCE + "/")) for f in doc["findings"]) == [
        ("child/version-collision", "sql/R__notification_queue_view.sql"),
        ("child/version-collision", "sql/V1000__shared_too.sql"),
    ]


def test_colour_on_a_terminal_only(make_repo):
    """Run the CLI with stdout on a pseudo-terminal: colour then, and never with NO_COLOR."""
    import os
    import pty
    import subprocess
    import sys

    repo = make_parent(make_repo, {**CLEAN, "sql/V3__bad.sql": "SELEC 1;\n"})

    def on_tty(extra_env: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"TERM": "xterm"} | extra_env
        proc = subprocess.Popen([sys.executable, "-m", "ddl_cascade", "validate"], cwd=repo.path, env=env,
                                stdout=follower, stderr=subprocess.DEVNULL)
        os.close(follower)
        chunks = []
        while True:  # read while it runs, so a full terminal buffer never blocks it
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        assert proc.wait(timeout=60) == 1
        return b"".join(chunks).decode()

    assert "\x1b[31merror" in on_tty({})
    assert "\x1b[" not in on_tty({"NO_COLOR": "1"})
