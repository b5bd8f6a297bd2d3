"""The layout is the architecture: which package may import which, read from every module's imports (its AST).

- the Flyway layer (`ddl_cascade.flyway`) knows nothing of `validate`, `db`, `cascade` or the CLI;
- `db` does not import `validate` or the CLI (migration locations belong to the Flyway layer);
- `validate`, `cascade` and the renderers do not import the CLI;
- the forges (`ddl_cascade.forge`) know only the shared ground: pull-request delivery in `cascade` uses them;
- the CI files (`ddl_cascade.ci`) know only the shared ground: a workflow is text made from the config;
- the shared ground (`git`, `config`, `errors`, `redact`, `lock`) imports none of the layers above it, and neither
  does the child guard (`guard.py`);
- the live dashboard's server (`serve.py`) does not import the CLI;
- no module anywhere reaches into another module's `_private` names, by import or by attribute;
- and no import cycle exists anywhere in the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "ddl_cascade"
LAYERS = ("ddl_cascade.flyway", "ddl_cascade.forge", "ddl_cascade.ci", "ddl_cascade.validate", "ddl_cascade.db",
          "ddl_cascade.cascade", "ddl_cascade.render", "ddl_cascade.cli")
FORBIDDEN = {
    "flyway": ("ddl_cascade.validate", "ddl_cascade.db", "ddl_cascade.cascade", "ddl_cascade.cli"),
    "db": ("ddl_cascade.validate", "ddl_cascade.cli"),
    "validate": ("ddl_cascade.cli",),
    "cascade": ("ddl_cascade.cli", "ddl_cascade.validate", "ddl_cascade.db", "ddl_cascade.render"),
    "render": ("ddl_cascade.cli",),
    "forge": ("ddl_cascade.flyway", "ddl_cascade.validate", "ddl_cascade.db", "ddl_cascade.cascade",
              "ddl_cascade.render", "ddl_cascade.cli"),
    "ci": ("ddl_cascade.flyway", "ddl_cascade.forge", "ddl_cascade.validate", "ddl_cascade.db", "ddl_cascade.cascade",
           "ddl_cascade.render", "ddl_cascade.cli"),
    **{f"{m}.py": LAYERS for m in ("git", "config", "errors", "redact", "lock")},
    "guard.py": LAYERS,  # the child guard stands on the shared ground alone
    "serve.py": ("ddl_cascade.cli",),  # the live dashboard: below the CLI, over the renderers
}
EVERYWHERE = sorted([p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
                    + [p.name for p in PACKAGE.glob("*.py")])


def _modules(package: str) -> list[Path]:
    where = PACKAGE / package
    return [where] if where.is_file() else sorted(where.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for each import, relative imports made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _name(path) if path.name == "__init__.py" else _name(path).rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            out.append((node.lineno, module, [alias.name for alias in node.names]))
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_one_way(package):
    bad = []
    for path in _modules(package):
        for line, module, names in _imports(path):
            targets = [module] + [f"{module}.{n}" for n in names]
            if any(t == f or t.startswith(f + ".") for t in targets for f in FORBIDDEN[package]):
                bad.append(f"{_name(path)}:{line} imports {module} {names or ''}")
    assert bad == []


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.mark.parametrize("package", EVERYWHERE)
def test_no_private_names_across_modules(package):
    bad = []
    for path in _modules(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: set[str] = set()  # local names bound to a ddl_cascade module
        for line, module, names in _imports(path):
            if not module.startswith("ddl_cascade"):
                continue
            bad += [f"{_name(path)}:{line} imports {n} from {module}" for n in names if _is_private(n)]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ddl_cascade"):
                aliases.update(a.asname or a.name for a in node.names if a.name[:1].islower())
            elif isinstance(node, ast.Import):
                aliases.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("ddl_cascade"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _is_private(node.attr) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases:
                bad.append(f"{_name(path)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert bad == []


def test_the_checks_see_a_violation(tmp_path, monkeypatch):
    """The checks above would catch what they forbid (they are not vacuous)."""
    import ddl_cascade

    fake = tmp_path / "ddl_cascade" / "flyway"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from ddl_cascade.validate.engine import _helper\nfrom ddl_cascade import git\n"
                                 "git._private()\n")
    monkeypatch.setattr(__import__(__name__), "SRC", tmp_path)
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "ddl_cascade")
    assert ddl_cascade  # the real package is untouched
    with pytest.raises(AssertionError, match="imports ddl_cascade.validate.engine"):
        test_layers_import_one_way("flyway")
    with pytest.raises(AssertionError, match=r"imports _helper.*\n?.*|uses git._private"):
        test_no_private_names_across_modules("flyway")


def _graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports (at any depth of the file, lazily or not)."""
    paths = sorted(PACKAGE.rglob("*.py"))
    names = {_name(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        edges = set()
        for _, module, imported in _imports(path):
            if module.startswith("ddl_cascade"):
                for name in imported or [""]:
                    full = f"{module}.{name}" if name else module
                    edges.add(full if full in names else module)
        graph[_name(path)] = {e for e in edges if e in names and e != _name(path)}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_the_cycle_check_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_git_adapter_runs_git():
    """No module but git.py starts a git process or hands git an argument list (`["git", …]`, `git.run([...])`)."""
    raw = {"run", "run_text", "run_result", "popen", "finish"}
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "git.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in raw \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "git":
                bad.append(f"{_name(path)}:{node.lineno} calls git.{node.func.attr}")
            if isinstance(node, ast.List) and node.elts and isinstance(node.elts[0], ast.Constant) \
                    and node.elts[0].value == "git":
                bad.append(f"{_name(path)}:{node.lineno} builds a git command line")
    assert bad == []


def test_the_git_check_sees_a_git_call(tmp_path, monkeypatch):
    fake = tmp_path / "ddl_cascade"
    fake.mkdir()
    (fake / "bad.py").write_text("from ddl_cascade import git\ngit.run(['log'], '.')\nimport subprocess\n"
                                 "subprocess.run(['git', 'status'])\n")
    monkeypatch.setattr(__import__(__name__), "SRC", tmp_path)
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    with pytest.raises(AssertionError) as caught:
        test_only_the_git_adapter_runs_git()
    assert "ddl_cascade.bad:2 calls git.run" in str(caught.value) and "command line" in str(caught.value)
