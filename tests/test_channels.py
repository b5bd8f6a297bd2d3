"""Channels and pins (issue 13): each child's target, the promotion gate, and a migration travelling dev → staging →
prod with syncs between, on real repositories."""

from __future__ import annotations

import json

import pytest
from cascade_world import SOURCE, make_world

from ddl_cascade import config as config_module
from ddl_cascade.cascade import channels
from ddl_cascade.cascade.commands import status, sync
from ddl_cascade.cascade.promote import promote
from ddl_cascade.cascade.state import DeliveryHistory, State
from ddl_cascade.errors import CascadeError, ConfigError

ORDER = ("dev", "staging", "prod")


def channel_config(world, children: dict[str, dict], order=ORDER, extra: str = "") -> config_module.Config:
    """cascade.toml with `[channels]` and, per child, its own keys (`channel`, `pin`, `environment`); a child not in
    `world.children` gets an unreachable URL (target resolution never reads it)."""
    text = f'[source]\npath = "{SOURCE}"\n'
    if order:
        text += "\n[channels]\norder = [" + ", ".join(json.dumps(c) for c in order) + "]\n"
    text += extra
    for name, keys in children.items():
        url = world.children[name].path if name in world.children else world.root / f"{name}-missing.git"
        text += f'\n[[children]]\nname = "{name}"\nurl = "{url}"\n'
        text += "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    world.config_path.write_text(text)
    return config_module.load(world.config_path)


def delivered(world) -> list[str]:
    """The delivery branch's commits, oldest first."""
    return world.parent.git("rev-list", "--reverse", "ro-shared-ddl").split()


def put(world, channel: str, commit: str) -> None:
    world.parent.git("update-ref", f"refs/heads/ro-shared-ddl-{channel}", commit)


# ---------------------------------------------------------------------------------------------------------------------
# Target resolution: channel × pin × promotion state

@pytest.fixture(scope="module")
def three(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("three"), {})
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    v1, v2, v3 = delivered(world)
    world.parent.git("tag", "v-two", v2)
    return world, {"v1": v1, "v2": v2, "v3": v3}


# (channel, pin, positions of dev/staging/prod) -> the target; None for a channel means the first one.
TARGETS = [
    (None, None, ("v3", "v2", "v1"), "v3"),
    ("dev", None, ("v3", "v2", "v1"), "v3"),
    ("staging", None, ("v3", "v2", "v1"), "v2"),
    ("prod", None, ("v3", "v2", "v1"), "v1"),
    ("prod", None, ("v3", "v3", "v3"), "v3"),  # after promotions
    ("staging", None, ("v3", "v3", "v1"), "v3"),
    ("prod", "v1", ("v3", "v3", "v3"), "v1"),  # a pin holds the child whatever its channel's commit
    ("dev", "v-two", ("v3", "v2", "v1"), "v2"),  # a tag on the delivery branch
    ("prod", "v3", ("v3", "v2", "v1"), "v3"),  # a pin may also be ahead of its channel
]


@pytest.mark.parametrize("channel, pin, at, expected", TARGETS)
def test_the_target_is_the_pin_else_the_channels_commit(three, channel, pin, at, expected):
    world, ids = three
    for name, commit in zip(ORDER, at):
        put(world, name, ids[commit])
    keys = {k: v for k, v in (("channel", channel), ("pin", ids.get(pin, pin) if pin else None)) if v}
    cfg = channel_config(world, {"c": keys})
    got = channels.targets(cfg, DeliveryHistory.load(cfg))["c"]
    assert got == channels.Target(ids[expected], channel or "dev", pin is not None)


def test_without_channels_or_pins_there_are_no_targets(three):
    world, _ = three
    cfg = channel_config(world, {"c": {}}, order=())
    assert channels.targets(cfg, DeliveryHistory.load(cfg)) == {}


def test_a_pin_alone_works_without_channels(three):
    world, ids = three
    cfg = channel_config(world, {"c": {"pin": ids["v1"]}, "d": {}}, order=())
    assert channels.targets(cfg, DeliveryHistory.load(cfg)) == {"c": channels.Target(ids["v1"], None, True)}


CONFIG_ERRORS = [
    ({"c": {"channel": "qa"}}, ORDER, "'children[0] ('c').channel' names channel 'qa', but [channels] order lists"),
    ({"c": {"channel": "dev"}}, (), "no [channels] table declares channels"),
    ({"c": {}}, ("dev", "a b"), "'channels.order[1]' 'a b' does not give a branch name git accepts"),
    ({"c": {}}, ("dev", "x..y"), "'channels.order[1]' 'x..y' does not give a branch name"),
    ({"c": {}}, ("dev", "a/b"), "contains '/'"),
    ({"c": {}}, ("dev", "dev"), "'channels.order[1]' repeats the channel 'dev'"),
]


@pytest.mark.parametrize("children, order, message", CONFIG_ERRORS)
def test_config_errors_name_the_key(three, children, order, message):
    world, _ = three
    with pytest.raises(ConfigError) as err:
        channel_config(world, children, order=order)
    assert message in str(err.value)


DEFAULTS_CHANNEL_ERRORS = [
    ('[defaults]\nchannel = "qa"\n', ORDER, "'defaults.channel' names channel 'qa', but [channels] order lists"),
    ('[defaults]\nchannel = "dev"\n', (), "'defaults.channel' names channel 'dev', but no [channels] table declares"),
    ('[defaults]\nchannel = 3\n', ORDER, "'defaults.channel' must be a non-empty string"),
]


@pytest.mark.parametrize("defaults, order, message", DEFAULTS_CHANNEL_ERRORS)
def test_a_bad_defaults_channel_names_the_defaults_key(three, defaults, order, message):
    world, _ = three
    with pytest.raises(ConfigError) as err:
        channel_config(world, {"c": {}, "d": {"channel": "dev"}}, order=order, extra="\n" + defaults)
    assert message in str(err.value)


def test_children_take_the_channel_of_defaults_unless_they_name_their_own(three):
    world, ids = three
    for name in ORDER:
        put(world, name, ids["v1"])
    put(world, "dev", ids["v3"])
    cfg = channel_config(world, {"c": {}, "d": {"channel": "dev"}}, extra='\n[defaults]\nchannel = "prod"\n')
    assert [child.channel for child in cfg.children] == ["prod", "dev"]
    got = channels.targets(cfg, DeliveryHistory.load(cfg))
    assert got == {"c": channels.Target(ids["v1"], "prod", False), "d": channels.Target(ids["v3"], "dev", False)}


@pytest.mark.parametrize("pin, why", [("nope", "names no commit in the parent"),
                                      ("main", "which is not a commit of the delivery branch")])
def test_a_pin_that_is_not_a_delivered_commit_is_one_sentence(three, pin, why):
    world, _ = three
    cfg = channel_config(world, {"c": {"pin": pin}})
    with pytest.raises(CascadeError) as err:
        channels.targets(cfg, DeliveryHistory.load(cfg))
    message = str(err.value)
    assert f"'children[0] ('c').pin' '{pin}' " in message and why in message and "\n" not in message


# ---------------------------------------------------------------------------------------------------------------------
# The gate, each reason, and the refusals that are bad input

@pytest.fixture
def gated(tmp_path):
    """dev child `d` at V2, staging child `s`; staging and prod at V2, dev at V3 (published, not synced)."""
    world = make_world(tmp_path, {"d": "squash", "s": "squash"})
    cfg = channel_config(world, {"d": {"channel": "dev"}, "s": {"channel": "staging"}})
    v1, v2 = delivered(world)
    for name in ORDER:
        put(world, name, v2)
    assert sync(cfg).ok
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    v3 = delivered(world)[-1]
    put(world, "dev", v3)
    return world, cfg, {"v1": v1, "v2": v2, "v3": v3}


def test_gate_refuses_while_a_child_of_the_previous_channel_is_behind(gated):
    world, cfg, ids = gated
    before = world.refs()
    result = promote(cfg, "staging")
    assert not result.moved and not result.gate.passed
    assert result.gate.reasons == [f"child 'd' of channel 'dev' is behind at {ids['v3'][:12]}"]
    assert world.refs() == before  # a refused promotion changes nothing


def test_gate_refuses_a_drifted_child(gated):
    world, cfg, ids = gated
    clone = world.clone("d")
    clone.commit({"read-only-flyway-files/sql/V2__more.sql": "edited\n"}, "by hand")
    clone.git("push", "-q", "origin", "HEAD:main")
    result = promote(cfg, "staging")
    assert [r.split(" at ")[0] for r in result.gate.reasons] == ["child 'd' of channel 'dev' is drifted"]


def test_gate_asks_the_database_of_children_with_an_environment(gated):
    world, _, ids = gated
    cfg = channel_config(world, {"d": {"channel": "dev", "environment": "dev"}, "s": {"channel": "staging"}},
                         extra='\n[environments.dev]\nurl = "postgresql://localhost/x"\n')
    assert sync(cfg).ok
    asked = []

    def database(config, child, child_status):
        asked.append((child.name, child_status.tip))
        return "database 'dev' has 1 pending migration(s)"

    result = promote(cfg, "staging", database=database)
    assert asked == [("d", world.children["d"].head("main"))]
    assert result.gate.reasons == ["child 'd' of channel 'dev': database 'dev' has 1 pending migration(s)"]
    assert not result.moved
    forced = promote(cfg, "staging", database=database, force=True)
    assert forced.moved and forced.forced and forced.gate.reasons == result.gate.reasons
    assert world.parent.head("ro-shared-ddl-staging") == ids["v3"]


def test_force_skips_the_gate_and_says_which_reasons_it_skipped(gated):
    world, cfg, ids = gated
    result = promote(cfg, "staging", force=True)
    assert result.moved and not result.gate.passed and len(result.gate.reasons) == 1
    assert world.parent.head("ro-shared-ddl-staging") == ids["v3"]


@pytest.mark.parametrize("channel, to, message", [
    ("qa", None, "no channel 'qa'"),
    ("dev", None, "'dev' is the first channel"),
    ("staging", "main", "is not a commit of the delivery branch"),
    ("prod", "v3", "is ahead of channel 'staging'"),
    ("staging", "v1", "would move the channel back"),
])
def test_bad_promotions_are_errors(gated, channel, to, message):
    world, cfg, ids = gated
    before = world.refs()
    with pytest.raises(CascadeError, match=message):
        promote(cfg, channel, to=ids.get(to, to))
    assert world.refs() == before


def test_backwards_with_force(gated):
    world, cfg, ids = gated
    result = promote(cfg, "prod", to=ids["v1"], force=True)
    assert result.moved and world.parent.head("ro-shared-ddl-prod") == ids["v1"]
    assert result.migrations == ["sql/V2__more.sql"]


# ---------------------------------------------------------------------------------------------------------------------
# End to end, through the CLI

def test_a_migration_travels_dev_staging_prod(tmp_path, cli):
    world = make_world(tmp_path, {"d": "squash", "s": "merge", "p": "squash", "pinned": "squash"})
    v1, v2 = delivered(world)
    channel_config(world, {"d": {}, "s": {"channel": "staging"}, "p": {"channel": "prod"},
                   "pinned": {"channel": "prod", "pin": v1}})
    run = lambda *args: cli(*args, "--config", str(world.config_path))  # noqa: E731
    assert run("publish").code == 0  # creates the channel branches where the delivery branch is
    assert {c: world.parent.head(f"ro-shared-ddl-{c}") for c in ORDER} == dict.fromkeys(ORDER, v2)
    assert run("sync").code == 0
    world.parent.commit({f"{SOURCE}/sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    published = run("publish", "--json")
    v3 = json.loads(published.stdout)["new"]
    assert world.parent.head("ro-shared-ddl-dev") == v3 and world.parent.head("ro-shared-ddl-prod") == v2

    report = json.loads(run("status", "--json").stdout)
    got = {c["name"]: (c["state"], c["channel"], c["target"], c["pinned"]) for c in report["children"]}
    assert got == {"d": ("behind", "dev", v3, False), "s": ("in_sync", "staging", v2, False),
                   "p": ("in_sync", "prod", v2, False), "pinned": ("in_sync", "prod", v1, True)}

    before = world.refs()
    refused = run("promote", "staging", "--json")
    assert refused.code == 1, refused
    doc = json.loads(refused.stdout)
    assert doc["gate"] == {"passed": False, "reasons": [f"child 'd' of channel 'dev' is behind at {v3[:12]}"]}
    assert world.refs() == before

    for channel, child in (("staging", "s"), ("prod", "p")):
        assert run("sync").code == 0
        promoted = run("promote", channel)
        assert promoted.code == 0, promoted
        assert "1 migration the promotion brings:\n  sql/V3__third.sql" in promoted.stdout
        assert f"the next sync updates 1 child: {child}" in promoted.stdout
    assert run("sync").code == 0
    final = {c["name"]: (c["state"], c["target"]) for c in json.loads(run("status", "--json").stdout)["children"]}
    assert final == {"d": ("in_sync", v3), "s": ("in_sync", v3), "p": ("in_sync", v3), "pinned": ("in_sync", v1)}
    assert world.children["p"].tree("main", "read-only-flyway-files") == world.parent.tree(v3)
    assert world.children["pinned"].tree("main", "read-only-flyway-files") == world.parent.tree(v1)

    again = run("promote", "prod", "--json")
    assert again.code == 0 and json.loads(again.stdout)["old"] == json.loads(again.stdout)["new"] == v3


def test_without_channels_nothing_changes(tmp_path, cli):
    world = make_world(tmp_path)
    assert cli("publish", "--config", str(world.config_path)).code == 0
    assert "ro-shared-ddl-" not in world.parent.git("branch", "--list")
    assert sync(world.config()).ok
    for child in status(world.config()).children:
        assert (child.state, child.channel, child.pinned) == (State.IN_SYNC, None, False)
    bad = cli("promote", "prod", "--config", str(world.config_path))
    assert bad.code == 2 and bad.stderr.count("\n") == 1 and "needs a [channels] table" in bad.stderr


def test_status_text_groups_children_by_channel(gated, cli):
    world, _, ids = gated
    world.add_child("held")
    channel_config(world, {"d": {"channel": "dev"}, "s": {"channel": "staging"},
                           "held": {"channel": "prod", "pin": ids["v1"]}})
    out = cli("status", "--config", str(world.config_path))
    assert out.code == 1
    lines = out.stdout.splitlines()
    heads = [line for line in lines if line.startswith("channel ")]
    assert heads == [f"channel dev (ro-shared-ddl-dev) at {ids['v3'][:12]}",
                     f"channel staging (ro-shared-ddl-staging) at {ids['v2'][:12]}, 1 delivery commit behind dev",
                     f"channel prod (ro-shared-ddl-prod) at {ids['v2'][:12]}, 1 delivery commit behind dev"]
    order = [line.split()[0] for line in lines[lines.index(heads[0]):]]
    assert order[:6] == ["channel", "d", "channel", "s", "channel", "held"]
    assert f"pinned at {ids['v1'][:12]}; no read-only folder yet" in out.stdout


def test_a_channel_without_its_branch_is_one_sentence(tmp_path, cli):
    world = make_world(tmp_path, {"p": "squash"})
    channel_config(world, {"p": {"channel": "prod"}})
    out = cli("status", "--config", str(world.config_path))
    assert out.code == 2 and out.stderr.count("\n") == 1
    assert "channel 'prod' (of child 'p') has no branch 'ro-shared-ddl-prod'" in out.stderr


def test_gate_reads_real_databases(gated, cli, pg_server, monkeypatch):
    """The dev child's database must have applied the promoted migrations before staging gets them."""
    from ddl_cascade.db.report import promotion_problem

    world, _, ids = gated
    name = f"t_channels_{id(world) % 100000}"
    pg_server.create_database(name)
    monkeypatch.setenv("DDLC_PW", pg_server.password)
    cfg = channel_config(world, {"d": {"channel": "dev", "environment": "dev", "local_paths": ["db"]},
                                 "s": {"channel": "staging"}},
                         extra=f'\n[environments.dev]\nurl = "postgresql://postgres:${{DDLC_PW}}@127.0.0.1:'
                               f'{pg_server.port}/{name}"\n')
    assert sync(cfg).ok
    refused = promote(cfg, "staging", database=promotion_problem)
    assert refused.gate.reasons == ["child 'd' of channel 'dev': database 'dev' has 4 pending migration(s)"]
    migrated = cli("db", "migrate", "--env", "dev", "--child", "d", "--config", str(world.config_path),
                   env={"DDLC_PW": pg_server.password})
    assert migrated.code == 0, migrated.stderr
    passed = promote(cfg, "staging", database=promotion_problem)
    assert passed.moved and passed.gate.passed and passed.gate.reasons == []
    assert world.parent.head("ro-shared-ddl-staging") == ids["v3"]


def test_publish_and_promote_push_the_channel_branches(gated, cli):
    from gitrepo import Repo

    world, _, ids = gated
    remote = Repo.init(world.root / "parent-remote.git", bare=True)
    cfg = channel_config(world, {"d": {"channel": "dev"}, "s": {"channel": "staging"}},
                         extra="")
    text = world.config_path.read_text().replace("[channels]", f'remote = "{remote.path}"\n\n[channels]', 1)
    world.config_path.write_text(text)
    pushed = cli("publish", "--push", "--config", str(world.config_path))
    assert pushed.code == 0, pushed.stderr
    heads = lambda: dict(line.split()[::-1] for line in  # noqa: E731
                         remote.git("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads").splitlines())
    assert remote.git("for-each-ref", "--format=%(refname)", "refs/ddl-cascade") == "refs/ddl-cascade/split-cache"
    assert heads() == {"refs/heads/ro-shared-ddl": ids["v3"], "refs/heads/ro-shared-ddl-dev": ids["v3"],
                       "refs/heads/ro-shared-ddl-staging": ids["v2"], "refs/heads/ro-shared-ddl-prod": ids["v2"]}
    assert sync(cfg).ok
    promoted = cli("promote", "staging", "--push", "--json", "--config", str(world.config_path))
    assert promoted.code == 0, promoted.stderr
    assert json.loads(promoted.stdout)["pushed_to"] == str(remote.path)
    assert heads()["refs/heads/ro-shared-ddl-staging"] == ids["v3"]


# ---------------------------------------------------------------------------------------------------------------------
# `db … --child` and `status --db` read the read-only folder at the child's target (issue 13)

def verified(cli, world, child, pg_server) -> list[str]:
    out = cli("db", "verify", "--child", child, "--url", pg_server.url("postgres"), "--json",
              "--config", str(world.config_path))
    assert out.code == 0, out.stderr
    return [m["script"] for m in json.loads(out.stdout)["migrations"]]


def test_db_child_reads_the_read_only_folder_at_the_childs_target(gated, cli, pg_server):
    """dev is at V3 (d holds V2), prod at V2: the prod child gets V2's migrations, not dev's V3; the dev child gets
    V3 before its sync; a pinned child its pin, even behind what it holds."""
    world, _, ids = gated
    world.add_child("p")  # never synced: its read-only folder does not exist yet
    channel_config(world, {"d": {"channel": "dev", "local_paths": ["db"]},
                           "s": {"channel": "staging", "local_paths": ["db"], "pin": ids["v1"]},
                           "p": {"channel": "prod", "local_paths": ["db"]}})
    assert verified(cli, world, "p", pg_server) == ["V1__init.sql", "V2__more.sql", "V100__p.sql"]
    assert verified(cli, world, "d", pg_server) == ["V1__init.sql", "V2__more.sql", "V3__third.sql", "V100__d.sql"]
    assert verified(cli, world, "s", pg_server) == ["V1__init.sql", "V100__s.sql"]  # s holds V2; pinned at V1

    text = cli("db", "verify", "--child", "p", "--url", pg_server.url("postgres"), "--config", str(world.config_path))
    assert text.code == 0, text.stderr
    assert (f"read-only folder read-only-flyway-files/ from delivered commit {ids['v2'][:12]} (its channel 'prod')"
            in text.stdout.splitlines())
    pinned = cli("db", "verify", "--child", "s", "--url", pg_server.url("postgres"), "--config", str(world.config_path))
    assert f"from delivered commit {ids['v1'][:12]} (its pin '{ids['v1']}')" in pinned.stdout


def test_db_child_without_channels_reads_the_delivery_tip(tmp_path, cli, pg_server):
    world = make_world(tmp_path, {"c": "squash", "fresh": "squash"})
    text = world.write_config().read_text().replace('mode = "squash"', 'mode = "squash"\nlocal_paths = ["db"]')
    world.config_path.write_text(text)
    cfg = config_module.load(world.config_path)
    assert sync(cfg, ["c"]).ok
    tip = world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")  # published, not synced
    assert verified(cli, world, "c", pg_server) == ["V1__init.sql", "V2__more.sql", "V3__third.sql", "V100__c.sql"]
    assert verified(cli, world, "fresh", pg_server) == [
        "V1__init.sql", "V2__more.sql", "V3__third.sql", "V100__fresh.sql"]
    out = cli("db", "verify", "--child", "c", "--url", pg_server.url("postgres"), "--config", str(world.config_path))
    assert f"from delivered commit {tip[:12]} (the delivery tip)" in out.stdout


def test_status_db_compares_with_the_childs_target(gated, cli, pg_server, monkeypatch):
    """d holds V2 but its channel (dev) is at V3: its database should have applied V3 too."""
    world, _, ids = gated
    name = f"t_target_{id(world) % 100000}"
    pg_server.create_database(name)
    env = {"DDLC_PW": pg_server.password}
    channel_config(world, {"d": {"channel": "dev", "environment": "dev", "local_paths": ["db"]},
                           "s": {"channel": "staging"}},
                   extra=f'\n[environments.dev]\nurl = "postgresql://postgres:${{DDLC_PW}}@127.0.0.1:'
                         f'{pg_server.port}/{name}"\n')
    run = lambda *args: cli(*args, "--config", str(world.config_path), env=env)  # noqa: E731

    def database() -> dict:
        doc = json.loads(run("status", "--db", "--json").stdout)
        return next(c for c in doc["children"] if c["name"] == "d")["database"]

    assert database()["pending"] == 4  # V1, V2, V3 (dev's target) and V100
    migrated = run("db", "migrate", "--env", "dev", "--child", "d", "--json")
    assert migrated.code == 0, migrated.stderr
    assert [m["script"] for m in json.loads(migrated.stdout)["migrations"]] == [
        "V1__init.sql", "V2__more.sql", "V3__third.sql", "V100__d.sql"]
    db = database()
    assert (db["pending"], db["applied"], db["ok"], db["mismatches"]) == (0, 4, True, 0)


def test_the_delivered_tree_is_read_in_the_parent_when_the_reader_cannot_see_it(tmp_path):
    """The cache borrows the parent's objects; a reader that cannot see them (here: the child's own repository) falls
    back to the parent for the delivered tree, and still reads the child's own files from itself."""
    from ddl_cascade import git
    from ddl_cascade.db import migrations as migration_sets

    world = make_world(tmp_path, {"c": "squash"})
    cfg = world.config()
    tip = world.parent.head("ro-shared-ddl")
    delivered = migration_sets.Delivered("read-only-flyway-files", tip, "the delivery tip")
    with git.ObjectReader(world.children["c"].path) as reader:
        assert reader.read(tip) is None
        tree = reader.read("main^{tree}")[0]
        files = migration_sets._with_delivered(cfg, reader, tree, ["db", "read-only-flyway-files/sql"], delivered)
    assert sorted(files) == ["db/V100__c.sql", "read-only-flyway-files/sql/V1__init.sql",
                             "read-only-flyway-files/sql/V2__more.sql"]
