"""Round trips: the HTTP requests each child costs per run, counted on the local forge's git smart HTTP (the real
`git http-backend`). Each request is a network round trip, the cost that dominates a cascade over the internet
(bench/sync.py --transport http measures it with latency); docs/sync.md "Round trips" explains each figure."""

from __future__ import annotations

import json

from cascade_world import SOURCE, make_world

TOKEN = "ghp_roundtrips000000000000000000000000000"
OWNER = "acme"


def requests_per_child(forge, names, run) -> dict[str, int]:
    before = len(forge.requests)
    result = run()
    assert result.code == 0, result
    counts = {name: 0 for name in names}
    for request in forge.requests[before:]:
        if request.kind == "git":
            for name in names:
                if f"/{OWNER}/{name}.git/" in request.path:
                    counts[name] += 1
    return counts


def test_requests_per_child_for_first_incremental_no_op_and_status(tmp_path, local_forge, cli):
    world = make_world(tmp_path, children={})
    local_forge.add_token(TOKEN)
    names = ("squashed", "merged")
    text = f'[source]\npath = "{SOURCE}"\n'
    for name in names:
        local_forge.create_repo(OWNER, name, files={"README.md": f"# {name}\n"})
        url = local_forge.git_url(OWNER, name).replace("://", f"://x-access-token:{TOKEN}@")
        mode = "squash" if name == "squashed" else "merge"
        text += f'\n[[children]]\nname = "{name}"\nurl = "{url}"\nmode = "{mode}"\n'
    world.config_path.write_text(text)

    def sync():
        return cli("sync", "--json", cwd=world.parent.path)

    # Every child needs a token (the forge refuses anonymous git): ddl-cascade sends it with the first request, so
    # no git process pays a 401 round trip before the credential helper is asked (that was one more per process).
    # First: one fetch (info/refs, ls-refs, fetch: the squash-mode child is offered no delivered commit it cannot
    # have, which would cost a second negotiation round) and one push (info/refs, receive-pack). The merge-mode
    # child is offered the delivery tip (after its first sync its history holds it), which it lacks yet: 6.
    assert requests_per_child(local_forge, names, sync) == {"squashed": 5, "merged": 6}
    # No-op: one ls-remote each (info/refs, ls-refs).
    assert requests_per_child(local_forge, names, sync) == {"squashed": 2, "merged": 2}
    # Incremental: the cached tip is pushed on at once (the lease keeps it safe): info/refs, receive-pack.
    world.deliver({"sql/V3__three.sql": "create table t3 (id int);\n"}, "V3")
    assert requests_per_child(local_forge, names, sync) == {"squashed": 2, "merged": 2}
    assert all(c["result"] == "unchanged" for c in json.loads(sync().stdout)["children"])
    status = requests_per_child(local_forge, names, lambda: cli("status", "--json", cwd=world.parent.path))
    assert status == {"squashed": 2, "merged": 2}
