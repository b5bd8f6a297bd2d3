"""Input that would damage a child or the parent is refused (issue 9): validate and db read nothing outside the
source folder, SQL the splitter cannot read faithfully is a finding (and never half-run), and database passwords are
redacted in every form libpq accepts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ddl_cascade import config as config_mod
from ddl_cascade.flyway import locations
from ddl_cascade.validate.engine import validate

SOURCE = "rw"
SECRET = "TOP-SECRET-aws_secret_access_key=AKIAXXXXXXXXXXXXXXXX"


def parent(make_repo, files: dict[str, str], toml: str = ""):
    repo = make_repo("parent")
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n{toml}',
                 **{f"{SOURCE}/{name}": text for name, text in files.items()}}, "shared DDL")
    return repo


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the repository, holding a file with secret-looking content."""
    folder = tmp_path / "zz-outside-target"
    folder.mkdir()
    (folder / "V9__secret.sql").write_text(f"-- {SECRET}\nSELECT 1;\n")
    (folder / "id_rsa").write_text(SECRET + "\n")
    return folder


def link_outside(repo, outside: Path) -> None:
    sql = repo.path / SOURCE / "sql"
    os.symlink(outside / "V9__secret.sql", sql / "V2__linked.sql")  # a file
    os.symlink(outside, sql / "more")  # a folder
    os.symlink("../../../zz-outside-target/id_rsa", sql / "V3__relative.sql")  # relative, climbing out
    os.symlink("V1__ok.sql", sql / "V4__inside.sql")  # inside the source folder: fine (a copy of V1)


# -- 2. validate and db never read outside the source folder -----------------------------------------------------------


def test_read_worktree_reports_links_out_of_the_folder_and_never_reads_them(make_repo, outside):
    repo = parent(make_repo, {"sql/V1__ok.sql": "SELECT 1;\n"})
    link_outside(repo, outside)
    root = repo.path / SOURCE
    found: list[str] = []
    files = locations.read_worktree(root, ["sql"], outside=found)
    assert sorted(found) == ["sql/V2__linked.sql", "sql/V3__relative.sql", "sql/more"]
    assert sorted(files) == ["sql/V1__ok.sql", "sql/V4__inside.sql"]
    assert all(SECRET.encode() not in data for data in files.values())
    with pytest.raises(locations.OutsideSource) as err:
        locations.read_worktree(root, ["sql"])
    assert "points outside" in str(err.value) and "zz-outside-target" not in str(err.value)
    # A location folder that is itself a link out of the source folder.
    os.symlink(outside, root / "callbacks")
    found = []
    assert locations.read_worktree(root, ["callbacks"], outside=found) == {} and found == ["callbacks"]


def test_validate_reports_a_link_out_of_the_source_folder_without_reading_it(make_repo, cli, outside):
    repo = parent(make_repo, {"sql/V1__ok.sql": "SELECT 1;\n"})
    link_outside(repo, outside)
    report = validate(config_mod.load(repo.path / "cascade.toml"))
    assert sorted((f.rule, f.path, f.severity.value) for f in report.findings if f.rule == "file/outside-source") == [
        ("file/outside-source", f"{SOURCE}/sql/V2__linked.sql", "error"),
        ("file/outside-source", f"{SOURCE}/sql/V3__relative.sql", "error"),
        ("file/outside-source", f"{SOURCE}/sql/more", "error"),
    ]
    assert report.exit_code == 1
    for args in ([], ["--json"], ["--format", "sarif"], ["--format", "github"]):
        result = cli("validate", *args, cwd=repo.path)
        assert result.code == 1, result
        assert "file/outside-source" in result.stdout + result.stderr
        assert "SECRET" not in result.stdout + result.stderr, args
        assert str(outside) not in result.stdout + result.stderr and "zz-outside-target" not in result.stdout + result.stderr


def test_source_path_that_is_a_link_out_of_the_repository_is_refused(make_repo, cli, outside):
    repo = make_repo("parent")
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n'}, "config")
    os.symlink(outside, repo.path / SOURCE)
    for args in (["validate"], ["db", "verify"]):
        result = cli(*args, cwd=repo.path)
        assert result.code == 2, result
        assert "source.path 'rw' is a symbolic link that points outside" in result.stderr
        assert "SECRET" not in result.stdout + result.stderr


def test_db_verify_refuses_to_run_a_link_out_of_the_source_folder(make_repo, cli, outside):
    repo = parent(make_repo, {"sql/V1__ok.sql": "CREATE TABLE t (id int);\n"})
    os.symlink(outside / "V9__secret.sql", repo.path / SOURCE / "sql" / "V2__linked.sql")
    result = cli("db", "verify", cwd=repo.path)
    assert result.code == 2, result
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"ddl-cascade: {repo.path / SOURCE / 'sql' / 'V2__linked.sql'} is a symbolic link "
                                    "that points outside")
    assert "SECRET" not in result.stderr


# -- 3. SQL the splitter cannot read faithfully is a finding, and db never runs it half ---------------------------------

UNREADABLE = [
    # (script, line, column of the fault, message)
    ("CREATE TABLE a (id int);\n/* the old version:\nCREATE TABLE b (id int);\n", 2, 1, "unterminated /* comment"),
    ("CREATE TABLE a (id int) /* nested /* inner */\n;\nCREATE TABLE b (id int);\n", 1, 25, "unterminated /* comment"),
    ("CREATE TABLE a (id int);\nINSERT INTO a VALUES (1), ('2);\nCREATE TABLE b (id int);\n", 2, 28,
     "unterminated quoted string"),
    ("CREATE TABLE a (id int);\nSELECT E'it\\'s;\n", 2, 8, "unterminated quoted string"),
    ('CREATE TABLE "a (id int);\n', 1, 14, "unterminated quoted identifier"),
    ("CREATE FUNCTION f() RETURNS int AS $body$\n  SELECT 1;\n$$ LANGUAGE sql;\n", 1, 36,
     "unterminated dollar-quoted string $body$"),
    ("CREATE TABLE a (id int);\nCREATE TABLE b (id\x00 int);\n", 2, 19, "NUL character (0x00)"),
]


@pytest.mark.parametrize("script, line, column, message", UNREADABLE)
def test_unreadable_sql_is_one_finding_at_the_fault(make_repo, script, line, column, message):
    repo = parent(make_repo, {"sql/V1__x.sql": script})
    report = validate(config_mod.load(repo.path / "cascade.toml"))
    found = [(f.rule, f.line, f.column) for f in report.findings if not f.rule.startswith("lint/")]
    assert found == [("sql/unreadable", line, column)]
    [unreadable] = [f for f in report.findings if f.rule == "sql/unreadable"]
    assert unreadable.message.startswith(message) and unreadable.severity.value == "error"


def test_unreadable_sql_position_survives_placeholders(make_repo):
    repo = parent(make_repo, {"sql/V1__x.sql": "GRANT SELECT ON a TO ${reader};\n/* open\n"},
                  '[flyway.placeholders]\nreader = "a_much_longer_role_name"\n')
    report = validate(config_mod.load(repo.path / "cascade.toml"))
    assert [(f.rule, f.line, f.column) for f in report.findings] == [("sql/unreadable", 2, 1)]


@pytest.mark.parametrize("script, line, column, message", UNREADABLE)
def test_db_verify_fails_on_a_script_it_cannot_apply_in_full(make_repo, cli, pg_server, script, line, column,
                                                              message):
    repo = parent(make_repo, {"sql/V1__ok.sql": "CREATE TABLE ok (id int);\n", "sql/V2__x.sql": script,
                              "sql/V3__never.sql": "CREATE TABLE never (id int);\n"})
    result = cli("db", "verify", "--url", pg_server.url("postgres"), "--json", cwd=repo.path)
    assert result.code == 1, result
    data = json.loads(result.stdout)
    assert [(m["script"], m["success"]) for m in data["migrations"]] == [("V1__ok.sql", True), ("V2__x.sql", False)]
    assert result.stderr.strip().startswith(f"ddl-cascade: migration failed: {SOURCE}/sql/V2__x.sql, line {line}: "
                                            f"{message}")
    assert "nothing of this script was run" in result.stderr


# -- 4. database passwords are redacted in every form libpq accepts -----------------------------------------------------

WRONG = "Wr0ngPw"  # the secret of the wrong-password URLs below; neither half may appear anywhere
WRONG_AT = "Wr0ng@s3cr"


def url_forms(port: int, db: str, secret: str = WRONG) -> dict[str, str]:
    """The same target written in each URL form libpq accepts a password in."""
    return {
        "userinfo": f"postgresql://postgres:{secret}@127.0.0.1:{port}/{db}",
        "raw @": f"postgresql://postgres:{WRONG_AT}@127.0.0.1:{port}/{db}",
        "encoded @": f"postgresql://postgres:{WRONG_AT.replace('@', '%40')}@127.0.0.1:{port}/{db}",
        "?password=": f"postgresql://postgres@127.0.0.1:{port}/{db}?password={secret}",
        "&password=": f"postgresql://127.0.0.1:{port}/{db}?user=postgres&password={secret}&sslmode=disable",
    }


def keyword_forms(port: int, db: str) -> dict[str, str]:
    return {
        "key=value": f"host=127.0.0.1 port={port} user=postgres password={WRONG} dbname={db}",
        "quoted": f"host=127.0.0.1 port={port} password='{WRONG} s3cr' dbname={db}",
    }


def no_secret(*texts: str) -> None:
    for text in texts:
        for piece in ("Wr0ng", "s3cr", WRONG):
            assert piece not in text, text


@pytest.mark.slow
def test_db_url_in_every_form_wrong_password_or_unreachable_is_one_redacted_sentence(make_repo, cli, pg_db):
    import socket

    repo = parent(make_repo, {"sql/V1__t.sql": "CREATE TABLE t (id int);\n"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    for port, reason in ((pg_db.server.port, 'password authentication failed for user "postgres"'),
                         (closed, "Connection refused")):
        for form, url in url_forms(port, pg_db.name).items():
            for command in ("migrate", "status"):
                result = cli("db", command, "--url", url, cwd=repo.path)
                assert result.code == 2 and result.stdout == "", (form, result)
                assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
                assert result.stderr.startswith("ddl-cascade: cannot connect to postgresql://"), (form, result)
                assert reason in result.stderr, (form, result.stderr)
                assert "***" in result.stderr
                no_secret(result.stderr)
    for form, conninfo in keyword_forms(pg_db.server.port, pg_db.name).items():
        result = cli("db", "status", "--url", conninfo, cwd=repo.path)
        assert result.code == 2 and "must be a postgresql:// URL" in result.stderr, (form, result)
        assert "password=***" in result.stderr
        no_secret(result.stderr)


def test_a_password_with_a_raw_at_sign_connects_as_meant(make_repo, cli, pg_db):
    with pg_db.connect() as conn:
        conn.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ddlc_at') THEN "
                     "CREATE ROLE ddlc_at LOGIN SUPERUSER PASSWORD 'Wr0ng@s3cr'; END IF; END $$;")
    repo = parent(make_repo, {"sql/V1__t.sql": "CREATE TABLE t (id int);\n"})
    url = f"postgresql://ddlc_at:{WRONG_AT}@127.0.0.1:{pg_db.server.port}/{pg_db.name}"
    result = cli("db", "migrate", "--url", url, cwd=repo.path)
    assert result.code == 0, result
    assert f"postgresql://ddlc_at:***@127.0.0.1:{pg_db.server.port}/{pg_db.name}" in result.stdout
    no_secret(result.stdout, result.stderr)


@pytest.mark.slow
def test_db_status_env_in_every_form_is_redacted(make_repo, cli, pg_db):
    forms = {**url_forms(pg_db.server.port, pg_db.name), **keyword_forms(pg_db.server.port, pg_db.name)}
    toml = "".join(f"[environments.e{i}]\nurl = {json.dumps(url)}\n" for i, url in enumerate(forms.values()))
    repo = parent(make_repo, {"sql/V1__t.sql": "CREATE TABLE t (id int);\n"}, toml)
    for i, form in enumerate(forms):
        for args in (["--json"], []):
            result = cli("db", "status", "--env", f"e{i}", *args, cwd=repo.path)
            assert result.code == 2 and result.stdout == "", (form, result)
            assert "***" in result.stderr and "Traceback" not in result.stderr, (form, result.stderr)
            no_secret(result.stderr)


def test_status_db_json_redacts_target_and_error_in_every_form(tmp_path, cli, pg_server):
    from cascade_world import make_world

    world = make_world(tmp_path / "world", {"app": "squash"})
    assert cli("sync", cwd=world.parent.path).code == 0
    base = world.write_config().read_text().replace('name = "app"', 'name = "app"\nenvironment = "prod"')
    forms = {**url_forms(pg_server.port, "postgres"), **keyword_forms(pg_server.port, "postgres")}
    for form, url in forms.items():
        world.config_path.write_text(base + f"\n[environments.prod]\nurl = {json.dumps(url)}\n")
        result = cli("status", "--db", "--json", cwd=world.parent.path)
        assert result.code == 1, (form, result)
        [child] = json.loads(result.stdout)["children"]
        database = child["database"]
        assert database["ok"] is False and database["error"], (form, database)
        assert "***" in database["target"], (form, database)
        no_secret(result.stdout, result.stderr)
