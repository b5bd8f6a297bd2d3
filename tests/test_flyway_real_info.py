"""outOfOrder, target and ignoreMigrationPatterns against the real Flyway (13.x, tests/flyway_real.py).

Hypothesis writes a folder of versioned migrations (a few repeatables, now and then a `B` file or a migration that
fails) and builds a history with REAL Flyway operations: an optional `baseline`, then one to three `migrate` runs,
each with its own target and outOfOrder, the folder changing between them (files added below or above what is
applied, removed, edited, renamed). Every step runs twice, on two twin schemas. Then, with the final folder and final
settings (target, outOfOrder, ignoreMigrationPatterns):

- `flyway info` on the first twin and `db status` (engine.status) give every migration the same state;
- `flyway validate` and `info.compute` agree: valid or not, and the same messages (ours are Flyway's first sentence);
  a target naming no migration is refused with Flyway's own sentence by both;
- `flyway migrate` on the second twin and `engine.migrate` on the first refuse alike, and leave the same history rows
  (version, description, type, script, checksum, success, in installed_rank order).

A whole hypothesis example (many scenarios, every step of each) is one JVM batch: the runner executes the cases in
order, so a scenario's steps follow each other.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ddl_cascade.db import engine, info
from ddl_cascade.db.history import SchemaHistory
from ddl_cascade.db.migrations import build
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway.settings import Settings
from flyway_real import Case, jdbc

BATCH = settings(max_examples=3, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])
SCENARIOS_PER_EXAMPLE = 8
POOL = ["1", "1.1", "2", "3", "3.5", "4", "5", "6", "7", "8", "9", "10"]
REPEATABLES = ["a", "b"]
PATTERNS = ["*:missing", "*:future", "*:ignored", "*:pending", "versioned:pending", "repeatable:pending",
            "versioned:missing", "repeatable:missing", "repeatable:*", "versioned:ignored", "*:*", "versioned:future"]
FAILS = "VACUUM no_such_table_for_flyway;\n"  # non-transactional: leaves a failed row, with Flyway as with us

# Flyway's MigrationState names (what the runner prints) for our display names.
STATE_NAMES = {
    info.PENDING: "PENDING", info.ABOVE_TARGET: "ABOVE_TARGET", info.BELOW_BASELINE: "BELOW_BASELINE",
    info.BASELINE_IGNORED: "BASELINE_IGNORED", info.BASELINE_STATE: "BASELINE", info.IGNORED: "IGNORED",
    info.SUCCESS: "SUCCESS", info.FAILED: "FAILED", info.MISSING_SUCCESS: "MISSING_SUCCESS",
    info.MISSING_FAILED: "MISSING_FAILED", info.FUTURE_SUCCESS: "FUTURE_SUCCESS",
    info.FUTURE_FAILED: "FUTURE_FAILED", info.OUT_OF_ORDER: "OUT_OF_ORDER", info.OUTDATED: "OUTDATED",
    info.SUPERSEDED: "SUPERSEDED", info.DELETED: "DELETED",
}
ROW = '"installed_rank", "version", "description", "type", "script", "checksum", "success"'


@dataclass
class Step:
    command: str  # migrate or baseline
    files: dict[str, str]
    conf: dict[str, str] = field(default_factory=dict)


@dataclass
class Scenario:
    steps: list[Step]
    files: dict[str, str]  # the final folder
    conf: dict[str, str]  # the final settings, as Flyway keys

    def settings(self) -> Settings:
        patterns = self.conf.get("ignoreMigrationPatterns")
        return Settings(target=self.conf.get("target", "latest"), out_of_order=self.conf.get("outOfOrder") == "true",
                        validate_on_migrate=self.conf.get("validateOnMigrate") != "false",
                        **({"ignore_migration_patterns": tuple(patterns.split(","))} if patterns else {}))


# -- generating a scenario --------------------------------------------------------------------------------------------


def run_settings(draw, versions: list[str], *, final: bool) -> dict[str, str]:
    """A run's target (mostly latest or a version of the folder; now and then current, next, or one that is missing,
    with or without `?`), outOfOrder, and for the final run ignoreMigrationPatterns."""
    conf: dict[str, str] = {}
    kind = draw(st.sampled_from(["latest"] * 4 + ["version"] * 3 + ["current", "next", "other"]))
    if kind == "version" and versions:
        conf["target"] = draw(st.sampled_from(versions))
    elif kind in ("current", "next"):
        conf["target"] = kind
    elif kind == "other":
        conf["target"] = draw(st.sampled_from(POOL + ["11", "2.0"])) + draw(st.sampled_from(["", "?"]))
    if draw(st.booleans()):
        conf["outOfOrder"] = "true"
    if final and draw(st.booleans()):
        conf["ignoreMigrationPatterns"] = ",".join(draw(st.lists(st.sampled_from(PATTERNS), max_size=3,
                                                                 unique=True))) or "*:future"
    return conf


@st.composite
def scenarios(draw) -> Scenario:
    # version -> [description, edit generation, fails]; repeatable -> edit generation; B files by version
    versioned: dict[str, list] = {}
    repeatable: dict[str, int] = {}
    baselines: set[str] = set()

    def files() -> dict[str, str]:
        out = {f"V{v}__{d}.sql": (FAILS if bad else f"SELECT 'V{v} {g}';\n") for v, (d, g, bad) in versioned.items()}
        out |= {f"R__{name}.sql": f"SELECT 'R {name} {g}';\n" for name, g in repeatable.items()}
        out |= {f"B{v}__base.sql": f"SELECT 'B{v}';\n" for v in baselines}
        return out

    def add(version: str) -> None:
        versioned[version] = ["d", 0, draw(st.integers(0, 24)) == 24]

    def change() -> None:
        """Between runs: new files (below or above what is applied), files removed, edited or renamed."""
        for version in draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique=True)):
            if version in versioned:
                what = draw(st.sampled_from(["remove", "edit", "rename", "keep", "keep"]))
                if what == "remove":
                    del versioned[version]
                elif what == "edit":
                    versioned[version][1] += 1
                elif what == "rename":
                    versioned[version][0] = "renamed"
            else:
                add(version)
        for name in draw(st.lists(st.sampled_from(REPEATABLES), max_size=2, unique=True)):
            if name in repeatable and draw(st.integers(0, 2)) == 2:
                del repeatable[name]
            else:
                repeatable[name] = repeatable.get(name, 0) + 1

    for version in draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=5, unique=True)):
        add(version)
    for name in draw(st.lists(st.sampled_from(REPEATABLES), max_size=2, unique=True)):
        repeatable[name] = 0
    # Rare events take the highest value: hypothesis's simplest example is then a plain one.
    if draw(st.integers(0, 11)) == 11:
        baselines.add(draw(st.sampled_from(POOL)))
    steps = []
    if draw(st.integers(0, 7)) == 7:
        steps.append(Step("baseline", files(), {"baselineVersion": draw(st.sampled_from(POOL))}))
    for i in range(draw(st.integers(1, 2))):
        if i:
            change()
        steps.append(Step("migrate", files(), run_settings(draw, sorted(versioned), final=False)))
    change()
    return Scenario(steps, files(), run_settings(draw, sorted(versioned), final=True))


# -- running both tools -----------------------------------------------------------------------------------------------

_schemas = itertools.count()


def folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def conf(url: str, schema: str, where: Path, extra: dict[str, str]) -> dict[str, str]:
    return jdbc(url) | {"postgresql.transactional.lock": "false", "schemas": schema,
                        "locations": f"filesystem:{where}"} | extra


def first_sentences(message: str) -> str:
    """A Flyway validate message without its advice (`.\\nPlease remove…`, `\\nEither revert…`): what ours say."""
    for cut in ("\nEither revert", ".\n"):
        if cut in message:
            return message[:message.index(cut)]
    return message


def flyway_states(migrations: list[dict]) -> dict[tuple, str]:
    return {(m["installedRank"], m["version"], m["description"], m["type"], m["script"]): m["state"]
            for m in migrations}


def our_states(result: info.Info) -> dict[tuple, str]:
    return {(m.installed_rank, m.version, m.description, m.type, m.script): STATE_NAMES[m.state]
            for m in result.migrations}


def history(pg_db, schema: str) -> list[tuple]:
    exists = pg_db.query(f"SELECT to_regclass('{schema}.flyway_schema_history')")[0][0]
    return pg_db.query(f"SELECT {ROW} FROM {schema}.flyway_schema_history ORDER BY 1") if exists else []


@dataclass
class Plan:
    scenario: Scenario
    ours: str  # the schema ddl-cascade reads and migrates
    twin: str  # the schema Flyway migrates
    final: Path  # the final folder
    first: int  # index of the final validate case in the batch


def plan(pg_db, root: Path, examples: list[Scenario], cases: list[Case]) -> list[Plan]:
    """Append every scenario's Flyway cases to `cases`: its steps on both twins, then validate (ours) and migrate
    (twin) with the final folder and settings."""
    plans = []
    for scenario in examples:
        ours, twin = f"s{next(_schemas)}", f"s{next(_schemas)}"
        pg_db.query(f"CREATE SCHEMA {ours}; CREATE SCHEMA {twin}")
        for i, step in enumerate(scenario.steps):
            where = folder(root / f"{ours}_{i}", step.files)
            cases += [Case(step.command, conf(pg_db.url, s, where, step.conf)) for s in (ours, twin)]
        final = folder(root / f"{ours}_final", scenario.files)
        plans.append(Plan(scenario, ours, twin, final, len(cases)))
        cases += [Case("validate", conf(pg_db.url, ours, final, scenario.conf)),
                  Case("migrate", conf(pg_db.url, twin, final, scenario.conf))]
    return plans


def refused_by_flyway(migrate: dict) -> bool:
    """Flyway's migrate stopped before running anything: validation, a missing target or DbMigrate's failed check."""
    error = migrate.get("error", "")
    return any(text in error for text in ("Validate failed", "No migration with a target", "contains a failed"))


def check(pg_db, plans: list[Plan], results: list[dict]) -> dict[str, int]:
    """Assert that ddl-cascade agrees with Flyway on every planned scenario; returns how many comparisons passed."""
    counts = {"states": 0, "validate": 0, "migrate": 0}
    for p in plans:
        their_validate, their_migrate = results[p.first:p.first + 2]
        context = json.dumps({"steps": [(s.command, sorted(s.files), s.conf) for s in p.scenario.steps],
                              "files": sorted(p.scenario.files), "conf": p.scenario.conf,
                              "history": [list(map(str, r)) for r in history(pg_db, p.ours)]})
        migration_set = build({".": {f.name: f.read_bytes() for f in p.final.iterdir()}}, {}, encoding="utf-8",
                              placeholders={}, settings=p.scenario.settings())
        with pg_db.connect() as conn:
            conn.execute(f"SET search_path TO {p.ours}")
            status = engine.status(conn, migration_set)
            validate = info.compute(engine.resolve(migration_set, engine.Session.open(conn)),
                                    SchemaHistory(conn, p.ours).rows(), settings=migration_set.settings)
            if "error" in their_validate:  # Flyway says nothing more; we refuse with its sentence
                assert their_validate["error"].startswith("No migration with a target version"), context
                assert status.problems == [their_validate["error"]] == validate.problems, context
            else:
                assert our_states(status) == flyway_states(their_validate["migrations"]), context
                counts["states"] += len(status.migrations)
                assert their_validate["valid"] == (validate.problems == []), context
                assert sorted(validate.problems) == sorted(first_sentences(m) for m in their_validate["invalid"]), \
                    context
            counts["validate"] += 1
            migrated = engine.migrate(conn, migration_set)
            after = engine.status(conn, migration_set)
        refused = refused_by_flyway(their_migrate)
        assert bool(migrated.refused) == refused, (context, their_migrate, migrated)
        if refused and "contains a failed" not in their_migrate["error"]:
            assert all(problem.splitlines()[0] in their_migrate["error"] for problem in migrated.refused), \
                (context, their_migrate, migrated.refused)
        assert (migrated.failure is not None) == ("error" in their_migrate and not refused), (context, their_migrate)
        assert history(pg_db, p.ours) == history(pg_db, p.twin), context
        counts["migrate"] += 1
        if "migrations" in their_migrate:
            assert our_states(after) == flyway_states(their_migrate["migrations"]), context
            counts["states"] += len(after.migrations)
    return counts


@BATCH
@given(examples=st.lists(scenarios(), min_size=SCENARIOS_PER_EXAMPLE, max_size=SCENARIOS_PER_EXAMPLE,
                         unique_by=repr))
def test_generated_histories_info_validate_and_migrate_agree_with_flyway(real_flyway, pg_db, tmp_path_factory,
                                                                          examples):
    cases: list[Case] = []
    plans = plan(pg_db, tmp_path_factory.mktemp("info"), examples, cases)
    check(pg_db, plans, real_flyway.run(cases))


# -- known cases, settings Flyway refuses, and the CLI: one JVM batch for all ------------------------------------


def v(version: str, text: str = "", description: str = "d") -> dict[str, str]:
    return {f"V{version}__{description}.sql": text or f"SELECT 'V{version}';\n"}


def r(name: str, text: str = "") -> dict[str, str]:
    return {f"R__{name}.sql": text or f"SELECT 'R {name}';\n"}


def migrate(*parts: dict[str, str], **conf: str) -> Step:
    return Step("migrate", {k: t for part in parts for k, t in part.items()}, conf)


def scenario(steps: list[Step], *parts: dict[str, str], **conf: str) -> Scenario:
    return Scenario(steps, {k: t for part in parts for k, t in part.items()}, conf)


KNOWN = {
    "target next applies one migration": scenario([], v("1"), v("2"), v("3"), r("a"), target="next"),
    "target next with only a repeatable pending": scenario([migrate(v("1"))], v("1"), r("a"), r("b"), target="next"),
    "target current on an empty history: every version above it": scenario([], v("1"), v("2"), r("a"),
                                                                           target="current"),
    "target current after a partial migrate": scenario([migrate(v("1"), v("2"), target="1")], v("1"), v("2"), v("3"),
                                                       r("a"), target="current", outOfOrder="true"),
    "a missing target is refused": scenario([migrate(v("1"))], v("1"), v("3"), target="2"),
    "a missing target with ? is allowed": scenario([migrate(v("1"))], v("1"), v("3"), target="2?"),
    "a pending B file above the target is applied all the same": scenario([], {"B5__base.sql": "SELECT 5;\n"},
                                                                            v("1"), v("5"), v("6"), target="1"),
    "outOfOrder below an applied baseline marker": scenario(
        [Step("baseline", v("1"), {"baselineVersion": "3"}), migrate(v("1"), v("2"), v("4"))],
        v("1"), v("2"), v("3.5"), v("4"), outOfOrder="true"),
    "outOfOrder: two new lower versions applied in order": scenario(
        [migrate(v("1"), v("5"))], v("1"), v("2"), v("3"), v("5"), r("a"), outOfOrder="true"),
    "a new B file on a used database is Ignored, not an error": scenario(
        [migrate(v("1"))], v("1"), {"B5__base.sql": "SELECT 5;\n"}, v("6")),
    "a missing repeatable is reported": scenario([migrate(v("1"), r("a"))], v("1")),
    "versioned:missing does not ignore a missing repeatable": scenario([migrate(v("1"), r("a"), v("2"))], v("1"),
                                          ignoreMigrationPatterns="versioned:missing"),
    "versioned:pending still reports an outdated repeatable": scenario(
        [migrate(v("1"), r("a"))], v("1"), v("2"), r("a", "SELECT 'changed';\n"),
        ignoreMigrationPatterns="versioned:pending"),
    "repeatable:pending and versioned:pending together are *:pending": scenario(
        [migrate(v("1"), r("a"))], v("1"), v("2"), r("a", "SELECT 'changed';\n"),
        ignoreMigrationPatterns="versioned:pending,repeatable:pending"),
    "*:ignored lets migrate skip an ignored version": scenario([migrate(v("1"), v("3"))], v("1"), v("2"), v("3"),
                                                              v("4"), ignoreMigrationPatterns="*:ignored"),
    "*:* lets validate pass over a failed migration but migrate refuses it": scenario(
        [migrate(v("1"), v("2", FAILS))], v("1"), v("2", FAILS), v("3"), ignoreMigrationPatterns="*:*"),
    "a lone failed future migration does not stop migrate": scenario(
        [migrate(v("1"), v("9", FAILS))], v("1"), v("2"), outOfOrder="true"),
    "validateOnMigrate=false migrates past a checksum mismatch": scenario(
        [migrate(v("1"), v("2"))], v("1", "SELECT 'edited';\n"), v("2"), v("3"), validateOnMigrate="false"),
}

BAD_SETTINGS = [{"ignoreMigrationPatterns": p} for p in ("foo", "*:bar", "x:pending", ":pending", "versioned:",
                                                         "a:b:c", "*:failed")] + [{"target": t} for t in
                                                                                  ("abc", "1.x", "1..2")]


CLI_SETTINGS = {"target": "4", "outOfOrder": "true"}


@pytest.mark.slow
def test_known_cases_agree_with_flyway(real_flyway, pg_server, tmp_path_factory, make_repo, cli):
    """One JVM for the known scenarios, the settings Flyway refuses, and the CLI's `db migrate --env` with target and
    out_of_order in cascade.toml."""
    from pgserver import new_database

    db, cli_db, cli_twin = (new_database(pg_server, name) for name in ("known", "cli", "clitwin"))
    root = tmp_path_factory.mktemp("known")
    cases: list[Case] = []
    plans = plan(db, root, list(KNOWN.values()), cases)
    bad_first = len(cases)
    db.query("CREATE SCHEMA bad")
    bad = folder(root / "bad", v("1"))
    cases += [Case("validate", conf(db.url, "bad", bad, extra)) for extra in BAD_SETTINGS]
    cli_before = folder(root / "cli_before", v("1") | v("3"))
    cli_after = folder(root / "cli_after", v("1") | v("2") | v("3") | v("4") | v("5") | r("a"))
    cli_first = len(cases)
    cases += [Case("migrate", jdbc(url) | {"locations": f"filesystem:{cli_before}"})
              for url in (cli_db.url, cli_twin.url)]
    cases.append(Case("migrate", jdbc(cli_twin.url) | CLI_SETTINGS | {"locations": f"filesystem:{cli_after}"}))
    try:
        results = real_flyway.run(cases)
        assert check(db, plans, results)["migrate"] == len(KNOWN)
        settings_flyway_refuses_are_one_cascade_error_with_its_message(results[bad_first:bad_first + len(BAD_SETTINGS)])
        db_migrate_env_honours_target_and_out_of_order(make_repo, cli, cli_db, cli_twin, cli_after, results[cli_first:])
    finally:
        for database in (db, cli_db, cli_twin):
            pg_server.drop_database(database.name)


def settings_flyway_refuses_are_one_cascade_error_with_its_message(results: list[dict]) -> None:
    for extra, result in zip(BAD_SETTINGS, results):
        assert "error" in result, extra
        settings_ = Settings(**({"ignore_migration_patterns": (extra["ignoreMigrationPatterns"],)}
                                if "ignoreMigrationPatterns" in extra else {"target": extra["target"]}))
        with pytest.raises(CascadeError) as raised:
            info.compute([], [], settings=settings_)
        where, _, message = str(raised.value).partition(": ")
        assert message == result["error"], extra
        assert ("ignore_migration_patterns" if "ignoreMigrationPatterns" in extra else "target") in where


def db_migrate_env_honours_target_and_out_of_order(make_repo, cli, cli_db, cli_twin, folder_after: Path,
                                                   results: list[dict]) -> None:
    """cascade.toml's [environments.x] target = "4", out_of_order = true through the installed CLI, on a database
    Flyway migrated to V1, V3: V2 (out of order) and V4 are applied, V5 is above the target, as Flyway does."""
    assert all("error" not in result for result in results), results
    repo = make_repo("parent")
    repo.commit({"cascade.toml": f'[source]\npath = "ddl"\n'
                                 f'[environments.x]\nurl = "{cli_db.url}"\ntarget = "4"\nout_of_order = true\n',
                 **{f"ddl/sql/{p.name}": p.read_text() for p in folder_after.iterdir()}}, "shared DDL")
    result = cli("db", "migrate", "--env", "x", "--json", cwd=repo.path)
    assert result.code == 0, result.stderr
    assert [m["script"] for m in json.loads(result.stdout)["migrations"]] == ["V2__d.sql", "V4__d.sql", "R__a.sql"]
    assert history(cli_db, "public") == history(cli_twin, "public")
    status = cli("db", "status", "--env", "x", "--json", cwd=repo.path)
    states = {m["script"]: m["state"] for m in json.loads(status.stdout)["migrations"]}
    assert states == {"V1__d.sql": "Success", "V2__d.sql": "Out of Order", "V3__d.sql": "Success",
                      "V4__d.sql": "Success", "R__a.sql": "Success", "V5__d.sql": "Above Target"}
