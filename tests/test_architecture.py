"""The shape of the package, as ARCHITECTURE.md states it: no import circle, layers imported only
downward, every package documented, modules of a readable size."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SRC = ROOT / "src" / "autophagy"

#: ARCHITECTURE.md's layers, bottom up: a module imports only its own layer or those below.
LAYERS = [
    {"exceptions", "_rng", "_threads", "_validation", "_version", "entry", "capabilities"},
    {"core", "registry", "adapters", "loops", "metrics", "exact", "neural", "store", "mitigation"},
    {"vectors", "regression", "images", "text"},
    {"config", "modality", "builtins", "plugins", "testing", "theory"},
    {"runner", "report", "monitor", "demo", "cli", "__main__", "(package)"},
]
FAMILIES = LAYERS[2]
#: Modules allowed over MAX_LINES because each is one cohesive algorithm.
COHESIVE = {
    "text/ngram_model.py": "interpolated modified Kneser-Ney: counting, discounts, exact sparse sampling",
    "images/ddpm_model.py": "the DDPM: noise schedule, denoisers, training objective and ancestral sampler",
}
MAX_LINES = 450


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def _imports(path: Path) -> set[str]:
    """Every autophagy module ``path`` imports, at any depth, except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    return {name: {t for t in _imports(path) if t in modules and t != name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


def test_the_import_graph_has_no_circle():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layers_are_imported_only_downward_and_families_never_import_each_other():
    level = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    graph = _graph()
    tops = {_top(m) for m in graph}
    assert tops <= set(level), f"packages missing from LAYERS (and ARCHITECTURE.md?): {sorted(tops - set(level))}"
    upward = []
    for module, targets in graph.items():
        for target in targets:
            a, b = _top(module), _top(target)
            if a == b:
                continue
            if level[b] > level[a] or (a in FAMILIES and b in FAMILIES):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_architecture_md_names_every_package_and_top_level_module():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for path in sorted(SRC.iterdir()):
        if path.name.startswith("__") or path.name in {"py.typed", "configs"}:
            continue
        shown = f"`{path.name}/`" if path.is_dir() else f"`{path.name}`"
        assert shown in text, f"ARCHITECTURE.md does not mention {shown}"


def test_modules_are_readable_sizes():
    big = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and rel not in COHESIVE:
            big[rel] = lines
    assert big == {}, f"split these modules (or justify them in COHESIVE): {big}"


@pytest.mark.parametrize("heavy", ["torch", "transformers", "sklearn", "pandas", "matplotlib", "duckdb", "ot", "ray"])
def test_import_and_registry_load_no_heavy_dependency(heavy):
    """``import autophagy`` and listing every registered component load numpy/scipy/pydantic only."""
    code = (
        "import sys, autophagy\n"
        "from autophagy.registry import GROUPS, entries\n"
        "[entries(g) for g in GROUPS]\n"
        f"print({heavy!r} in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"
