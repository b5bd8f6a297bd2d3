"""Every `--json` document is an API: typed, versioned, and held to the JSON Schema shipped in the package.

The `cli` fixture (conftest.py) validates every `--json` document any test produces against its command's shipped
schema; this file makes sure each command is exercised at least once, that the shipped files are what the result
classes say, and that the validation would catch a wrong document.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from cascade_world import make_world, world_in_every_state
from conftest import hold_to_schema

from ddl_cascade.render import schema

SECRET_URL = "https://x-access-token:s3cret@127.0.0.1:9/x.git"


@pytest.mark.parametrize("command", list(schema.DOCUMENTS))
def test_shipped_schema_is_what_the_result_classes_say(command):
    assert schema.shipped(command) == schema.text(schema.generate(command)), "run scripts/schemas"


def test_schema_command_prints_the_shipped_schema(cli):
    out = cli("schema", "sync")
    assert out.code == 0 and out.stdout == schema.shipped("sync")
    assert json.loads(out.stdout)["properties"]["schema_version"] == {"const": 1, "type": "integer"}
    db = cli("schema", "db", "status")
    assert db.code == 0 and json.loads(db.stdout)["title"] == "ddl-cascade db status --json"
    unknown = cli("schema", "nope")
    assert unknown.code == 2 and "nope" in unknown.stderr and "Traceback" not in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_a_wrong_document_fails_its_schema(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash"})
    good = json.loads(cli("sync", "--dry-run", "--json", "--config", str(world.config_path)).stdout)
    broken = [
        {**good, "extra": 1},                                     # a field the schema does not know
        {k: v for k, v in good.items() if k != "schema_version"},  # unversioned
        {**good, "schema_version": 2},
        {**good, "children": [{**good["children"][0], "result": "exploded"}]},
        {**good, "children": [{**good["children"][0], "behind_by": "two"}]},
    ]
    for doc in broken:
        with pytest.raises(jsonschema.ValidationError):
            hold_to_schema(["sync", "--json"], json.dumps(doc))


def test_cascade_documents_in_every_state_match_their_schemas(tmp_path, cli):
    world = world_in_every_state(tmp_path, SECRET_URL)
    where = ("--config", str(world.config_path))

    status = cli("status", "--json", *where)  # validated by the fixture
    states = {c["name"]: c["state"] for c in json.loads(status.stdout)["children"]}
    assert states == {"synced": "in_sync", "behind": "behind", "drifted": "drifted", "fresh": "not_added",
                      "gone": "unreachable"}
    planned = json.loads(cli("sync", "--dry-run", "--json", *where).stdout)
    actions = {c["name"]: (c["action"], c["result"]) for c in planned["children"]}
    assert actions == {"synced": ("none", "unchanged"), "behind": ("update", "updated"),
                       "drifted": ("refuse", "refused"), "fresh": ("update", "updated"), "gone": ("none", "failed")}
    assert all(c["target"] == world.parent.head("ro-shared-ddl") for c in planned["children"])
    for args in (("sync", "--json"), ("reset", "drifted", "--json"), ("reset", "drifted", "--yes", "--json"),
                 ("publish", "--json"), ("full", "--json")):
        out = cli(*args, *where)
        assert out.code in (0, 1), out
        doc = json.loads(out.stdout)
        assert doc["schema_version"] == 1 and "s3cret" not in out.stdout


def test_demo_document_matches_its_schema(tmp_path, cli):
    out = cli("demo", str(tmp_path / "play"), "--json")
    assert out.code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [s["command"] for s in doc["steps"]][:3] == ["validate", "full", "status"]
