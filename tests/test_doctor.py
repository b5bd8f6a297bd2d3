"""`ddl-cascade doctor`: children over file paths, over `git http-backend` with basic auth (a credential helper, a
credential in the URL, a wrong password, none at all), a pre-receive hook refusing pushes (a protected branch), the
local GitHub with a token that may write and one that may only read, and a parent whose git config keeps
actions/checkout's extra header. Every run changes no ref anywhere, and no secret appears in its output."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from cascade_world import make_world
from unattended import GitHttpServer


def _doctor(cli, world, *args: str, env: dict[str, str] | None = None):
    out = cli("doctor", "--json", *args, "--config", str(world.config_path), env=env)
    assert out.stdout, out
    return out, {c["name"]: c for c in json.loads(out.stdout)["children"]}


def test_children_over_file_paths_are_reachable_and_pushable_and_nothing_moves(tmp_path, cli):
    world = make_world(tmp_path)
    before = world.refs()
    out, children = _doctor(cli, world)
    assert out.code == 0, out
    for child in children.values():
        assert child["reachable"] and child["can_push"] and child["ok"] and child["problems"] == []
        assert child["credential"] == "none" and child["push_ref"] == "refs/heads/main"
    assert world.refs() == before
    text = cli("doctor", "c1", "--config", str(world.config_path))
    assert text.code == 0 and "c1" in text.stdout and "c2" not in text.stdout and "all fine" in text.stdout


def test_a_pre_receive_hook_refusing_pushes_is_a_protected_branch_and_pull_requests_are_suggested(tmp_path, cli):
    world = make_world(tmp_path)
    hook = world.children["c1"].path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/main.' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = world.refs()
    out, children = _doctor(cli, world)
    assert out.code == 1
    c1 = children["c1"]
    assert c1["reachable"] and c1["can_push"] is False and [p["cause"] for p in c1["problems"]] == ["branch_protected"]
    assert "Protected branch update failed" in c1["problems"][0]["message"]
    assert 'delivery = "pull-request"' in c1["problems"][0]["message"]
    assert children["c2"]["ok"]
    assert world.refs() == before  # the probe of c2's hooks moved nothing either


def test_unknown_child_is_bad_input(tmp_path, cli):
    world = make_world(tmp_path)
    out = cli("doctor", "nope", "--config", str(world.config_path))
    assert out.code == 2 and "nope" in out.stderr and "Traceback" not in out.stderr


@pytest.fixture
def served(tmp_path):
    """A parent whose child `web` is served by `git http-backend` behind basic auth (user x-access-token)."""
    world = make_world(tmp_path, {})
    bare = world.add_child("web")
    root = tmp_path / "served"
    root.mkdir()
    (root / "web.git").symlink_to(bare.path)
    token = "tok" + uuid.uuid4().hex
    server = GitHttpServer(root, "x-access-token", token)
    del world.children["web"]
    yield world, server, token, f"http://127.0.0.1:{server.port}/web.git"
    server.close()


def _only(world, url: str) -> None:
    world.extra = [("web", url)]
    world.write_config()


def test_over_http_a_credential_helper_answers_and_is_named(served, cli, tmp_path):
    world, server, token, url = served
    store = tmp_path / "credentials"
    store.write_text(f"http://x-access-token:{token}@127.0.0.1:{server.port}\n")
    store.chmod(0o600)
    world.parent.git("config", "--global", "credential.helper", f"store --file={store}")
    _only(world, url)
    bare = server.root / "web.git"
    refs = subprocess.run(["git", "for-each-ref"], cwd=bare, capture_output=True, text=True).stdout
    out, children = _doctor(cli, world)
    assert subprocess.run(["git", "for-each-ref"], cwd=bare, capture_output=True, text=True).stdout == refs
    assert out.code == 0, out
    web = children["web"]
    assert web["credential"] == "credential_helper" and web["credential_detail"] == "store"
    assert web["reachable"] and web["can_push"]
    assert token not in out.stdout + out.stderr and str(store) not in out.stdout


def test_over_http_a_credential_in_the_url_is_named_and_never_printed(served, cli):
    world, server, token, url = served
    _only(world, url.replace("http://", f"http://x-access-token:{token}@"))
    out, children = _doctor(cli, world)
    assert out.code == 0, out
    assert children["web"]["credential"] == "url" and children["web"]["can_push"]
    text = cli("doctor", "--config", str(world.config_path))
    assert token not in out.stdout + out.stderr + text.stdout + text.stderr


def test_over_http_a_wrong_password_is_a_refused_credential(served, cli):
    world, server, token, url = served
    _only(world, url.replace("http://", "http://x-access-token:wrong-secret-0000@"))
    out, children = _doctor(cli, world)
    assert out.code == 1
    (problem,) = children["web"]["problems"]
    assert problem["cause"] == "credential_refused" and "renew it" in problem["message"]
    assert not children["web"]["reachable"]
    assert "wrong-secret-0000" not in out.stdout + out.stderr


def test_over_http_no_credential_at_all_names_the_fixes(served, cli):
    world, server, token, url = served
    _only(world, url)
    out, children = _doctor(cli, world)
    assert out.code == 1
    (problem,) = children["web"]["problems"]
    assert problem["cause"] == "no_credential"
    assert "[forge] token_env" in problem["message"] and "credential helper" in problem["message"]
    assert children["web"]["credential"] == "none"


def test_checkouts_persisted_extra_header_in_the_parent_is_reported_without_its_value(served, cli):
    world, server, token, url = served
    _only(world, url.replace("http://", f"http://x-access-token:{token}@"))
    secret = "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46c2VjcmV0dmFsdWUxMjM="
    world.parent.git("config", "--local", f"http.http://127.0.0.1:{server.port}/.extraheader", secret)
    out, children = _doctor(cli, world)
    assert out.code == 1
    doc = json.loads(out.stdout)
    assert doc["extra_headers"] == [f"http.http://127.0.0.1:{server.port}/.extraheader"]
    (problem,) = children["web"]["problems"]
    assert problem["cause"] == "extra_header" and "persist-credentials: false" in problem["message"]
    text = cli("doctor", "--config", str(world.config_path))
    assert "eC1hY2Nlc3MtdG9rZW46c2VjcmV0dmFsdWUxMjM" not in out.stdout + text.stdout + text.stderr


# --- the local GitHub (tests/localforge.py) ----------------------------------------------------------------------

TOKEN = "ghp_doctortoken00000000000000000000000"


def _forge_world(tmp_path: Path, forge, *, push: bool, app: bool = False, scopes: tuple[str, ...] | None = None):
    world = make_world(tmp_path, {})
    forge.add_token(TOKEN, push=push, scopes=scopes)
    forge.create_repo("acme", "billing")
    auth = 'app_id = "4242"\nprivate_key_env = "DDLC_APP_KEY"\n' if app else 'token_env = "DDLC_DOCTOR_TOKEN"\n'
    text = (f'[source]\npath = "read-write-flyway-files"\n\n[forge]\nkind = "github"\napi_url = "{forge.api_url}"\n'
            f'{auth}\n[[children]]\nname = "billing"\n'
            f'url = "{forge.git_url("acme", "billing")}"\ndelivery = "pull-request"\n')
    world.config_path.write_text(text)
    return world


def test_a_forge_token_that_may_write_answers_and_its_permissions_cover_contents_and_pull_requests(
        tmp_path, cli, local_forge):
    world = _forge_world(tmp_path, local_forge, push=True)
    out, children = _doctor(cli, world, env={"DDLC_DOCTOR_TOKEN": TOKEN})
    assert out.code == 0, out
    billing = children["billing"]
    assert billing["credential"] == "forge_token" and billing["credential_detail"] == "DDLC_DOCTOR_TOKEN"
    assert billing["push_ref"] == "refs/heads/ddl-cascade/ro-shared-ddl" and billing["can_push"]
    assert billing["forge"]["contents"] == "write" and billing["forge"]["pull_requests"] == "write"
    assert local_forge.pulls("acme", "billing") == []
    assert "ddl-cascade/ro-shared-ddl" not in local_forge.root.joinpath("acme", "billing.git", "packed-refs") \
        .read_text() if local_forge.root.joinpath("acme", "billing.git", "packed-refs").exists() else True
    assert not (local_forge.root / "acme" / "billing.git" / "refs" / "heads" / "ddl-cascade").exists()
    assert TOKEN not in out.stdout + out.stderr


def test_a_forge_token_that_may_only_read_is_reported_with_the_fix(tmp_path, cli, local_forge):
    world = _forge_world(tmp_path, local_forge, push=False)
    out, children = _doctor(cli, world, env={"DDLC_DOCTOR_TOKEN": TOKEN})
    assert out.code == 1
    billing = children["billing"]
    causes = [p["cause"] for p in billing["problems"]]
    assert causes == ["forge_permissions", "no_write"], billing
    assert billing["forge"]["contents"] == "read" and billing["reachable"] and billing["can_push"] is False
    assert billing["credential"] == "forge_token"  # it answered; the forge refused the push (403)
    assert "write access" in billing["problems"][0]["message"]
    text = cli("doctor", "--config", str(world.config_path), env={"DDLC_DOCTOR_TOKEN": TOKEN})
    assert TOKEN not in out.stdout + out.stderr + text.stdout + text.stderr


def test_a_missing_forge_token_is_one_sentence(tmp_path, cli, local_forge):
    world = _forge_world(tmp_path, local_forge, push=True)
    out, children = _doctor(cli, world, env={"DDLC_DOCTOR_TOKEN": ""})
    assert out.code == 1
    causes = [p["cause"] for p in children["billing"]["problems"]]
    assert causes[0] == "forge_credential" and "DDLC_DOCTOR_TOKEN" in children["billing"]["problems"][0]["message"]


def test_a_github_app_installation_token_answers_and_the_installations_permissions_are_read(
        tmp_path, cli, local_forge):
    key = local_forge.register_app(4242)
    world = _forge_world(tmp_path, local_forge, push=True, app=True)
    out, children = _doctor(cli, world, env={"DDLC_APP_KEY": key})
    assert out.code == 0, out
    billing = children["billing"]
    assert billing["credential"] == "app_token" and billing["can_push"]
    assert billing["forge"]["credential"] == "app"
    assert billing["forge"]["contents"] == "write" and billing["forge"]["pull_requests"] == "write"
    assert "PRIVATE KEY" not in out.stdout + out.stderr and "ghs_" not in out.stdout + out.stderr


def test_the_trace_names_the_helper_that_answered_and_the_ssh_key_but_never_a_helpers_arguments():
    from ddl_cascade import git

    def start(argv: list[str], child_class: str = "?") -> str:
        return json.dumps({"event": "child_start", "child_class": child_class, "argv": argv})

    events = "\n".join([start(["git credential-cache --timeout=9 get"]),
                        start(["git credential-store --file=/secret/place get"]),
                        start(["git credential-cache --timeout=9 store"]),
                        start(["git credential-store --file=/secret/place store"])])
    trace = git.parse_credential_trace(events, "")
    assert trace.asked == ["cache", "store"] and trace.answered == "store" and not trace.refused
    refused = git.parse_credential_trace("\n".join([start(["!f() { echo password=s3cr3t; }; f get"]),
                                                    start(["!f() { echo password=s3cr3t; }; f erase"])]), "")
    assert refused.answered == "a shell snippet" and refused.refused and "s3cr3t" not in repr(refused)
    nothing = git.parse_credential_trace(start(["git credential-store get"]),
                                         "fatal: could not read Username for 'https://h': terminal prompts disabled")
    assert nothing.asked == ["store"] and nothing.answered is None
    ssh = git.parse_credential_trace(start(["ssh", "-v", "git@h"], "transport/ssh"),
                                     "debug1: Server accepts key: /home/u/.ssh/id_ed25519 ED25519 SHA256:AbC agent\n"
                                     "debug1: Authenticated to h ([10.0.0.1]:22) using \"publickey\".\n")
    assert ssh.ssh and ssh.ssh_key == ("agent", "id_ed25519")
    explicit = git.parse_credential_trace(start(["ssh"], "transport/ssh"),
                                          "debug1: Server accepts key: /k/deploy RSA SHA256:x explicit\n"
                                          "Authenticated to h ([10.0.0.1]:22) using \"publickey\".\n")
    assert explicit.ssh_key == ("key", "deploy")


@pytest.mark.parametrize("scopes, fine", [(("repo", "read:org"), True), (("read:user",), False)])
def test_a_classic_tokens_oauth_scopes_decide_pull_requests(tmp_path, cli, local_forge, scopes, fine):
    world = _forge_world(tmp_path, local_forge, push=True, scopes=scopes)
    out, children = _doctor(cli, world, env={"DDLC_DOCTOR_TOKEN": TOKEN})
    billing = children["billing"]
    assert billing["forge"]["scopes"] == list(scopes)
    assert (out.code, billing["forge"]["pull_requests"]) == ((0, "write") if fine else (1, "none"))
    if not fine:
        assert [p["cause"] for p in billing["problems"]] == ["forge_permissions"]
        assert "`repo` scope" in billing["problems"][0]["message"]


@pytest.mark.parametrize("said, cause, words", [
    ("Host key verification failed.", "ssh_host_key", "known_hosts"),
    ("git@example.com: Permission denied (publickey).", "ssh_permission_denied", "ssh-add"),
])
def test_ssh_refusals_are_named_with_their_fix(tmp_path, cli, said, cause, words):
    world = make_world(tmp_path, {})
    world.extra = [("remote", "git@example.com:acme/billing.git")]
    world.write_config()
    ssh = tmp_path / "fake-ssh"
    ssh.write_text(f"#!/bin/sh\necho '{said}' >&2\nexit 255\n")
    ssh.chmod(0o755)
    out, children = _doctor(cli, world, env={"GIT_SSH_COMMAND": str(ssh)})
    assert out.code == 1
    remote = children["remote"]
    assert remote["credential"] == "ssh" and not remote["reachable"]
    (problem,) = remote["problems"]
    assert problem["cause"] == cause and words in problem["message"]


def test_an_app_that_cannot_reach_the_repository_is_one_sentence_not_a_traceback(tmp_path, cli, local_forge):
    key = local_forge.register_app(4242)
    world = _forge_world(tmp_path, local_forge, push=True, app=True)
    world.config_path.write_text(world.config_path.read_text().replace("acme/billing.git", "acme/missing.git"))
    out, children = _doctor(cli, world, env={"DDLC_APP_KEY": key})
    assert out.code == 1 and "Traceback" not in out.stderr
    causes = [p["cause"] for p in children["billing"]["problems"]]
    assert causes[0] == "forge_credential" and "404" in children["billing"]["problems"][0]["message"]


def test_over_http_an_askpass_program_answers_and_is_named(served, cli, tmp_path):
    world, server, token, url = served
    askpass = tmp_path / "askpass"
    askpass.write_text(f'#!/bin/sh\ncase "$1" in Username*) echo x-access-token;; *) echo {token};; esac\n')
    askpass.chmod(0o700)
    _only(world, url)
    out, children = _doctor(cli, world, env={"GIT_ASKPASS": str(askpass)})
    assert out.code == 0, out
    assert children["web"]["credential"] == "askpass" and children["web"]["can_push"]
    assert token not in out.stdout + out.stderr
