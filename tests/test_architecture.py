"""The rules of the house (docs/architecture.md), checked on the source.

The checks walk the AST of every file under ``kshim/``, so an import inside a function counts like any other:
1. only ``kshim/backends/`` imports a framework (torch, jax, and the packages built on them);
2. nothing outside ``kshim/backends/`` branches on a backend's name;
3. the packages of the house import each other without a cycle, and imports only go down the layers;
4. every import inside a function says why, in a comment on its line or the line above.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "kshim"
FRAMEWORKS = {"torch", "jax", "jaxlib", "flax", "jax2onnx", "torchvision", "functorch", "optax"}
BACKEND_NAMES = {"torch", "jax"}

# The layers of the house, bottom first (docs/architecture.md). A unit is a top-level package or module of kshim;
# it may import units of its own layer or of a lower one. `kshim.utils`, `kshim.preprocessing` and `kshim.backend`
# are public namespaces at the top: nothing inside kshim imports them; the helpers lower layers need live in
# `kshim.common`.
LAYERS = [
    {"config", "registry", "numerics", "serialization", "backends", "common"},
    {"ops", "random", "variables", "initializers", "activations", "tree", "dtype_policies"},
    {"losses", "metrics", "optimizers", "regularizers", "constraints", "layers", "quantizers", "mixed_precision"},
    {"saving"},
    {"trainer", "callbacks", "distribution", "export"},
    {"models", "applications", "datasets", "utils", "preprocessing", "backend", "conformance", "testing", "tools",
     "legacy", "wrappers", "visualization"},
]
# `kshim` itself (the lazy public face) only re-exports, so it stands outside the layering.
FACADES = {""}


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _unit(module):
    """The unit of the layering a module belongs to: `kshim.layers.core` -> `layers`."""
    parts = module.split(".")[1:]
    if not parts:
        return ""
    return parts[0]


def _layer_of(unit):
    for i, units in enumerate(LAYERS):
        if unit in units:
            return i
    return None


class _Imports(ast.NodeVisitor):
    """Every import of a module: (imported module, line, inside a function?)."""

    def __init__(self, module, is_package):
        self.module, self.is_package = module, is_package
        self.found, self.depth = [], 0

    def _resolve(self, node):
        if node.level == 0:
            return node.module or ""
        base = self.module.split(".")
        if not self.is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node):  # `if TYPE_CHECKING:` imports never run
        test = node.test
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            self.found.append((alias.name, node.lineno, self.depth > 0))

    def visit_ImportFrom(self, node):
        base = self._resolve(node)
        for alias in node.names:
            # `from kshim.layers import core` imports the submodule; `from kshim.layers import Dense` the package.
            self.found.append((f"{base}.{alias.name}", node.lineno, self.depth > 0, base))

    def visit_Call(self, node):  # importlib.import_module("kshim.x") with a literal name
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "import_module" and node.args and isinstance(node.args[0], ast.Constant):
            if isinstance(node.args[0].value, str):
                self.found.append((node.args[0].value, node.lineno, self.depth > 0))
        self.generic_visit(node)


def _scan():
    modules = dict(_modules())
    result = {}
    for module, path in modules.items():
        source = path.read_text()
        visitor = _Imports(module, path.name == "__init__.py")
        visitor.visit(ast.parse(source))
        imports = []
        for entry in visitor.found:
            target, line, nested = entry[:3]
            if len(entry) == 4 and target not in modules:
                target = entry[3]  # a name imported from a module, not a submodule
            imports.append((target, line, nested))
        result[module] = (path, source.splitlines(), imports)
    return result


SCAN = _scan()


def _where(module, line):
    return f"{SCAN[module][0].relative_to(ROOT.parent)}:{line}"


def test_only_backends_import_a_framework():
    offenders = [f"{_where(m, line)} imports {target}"
                 for m, (_, _, imports) in SCAN.items() if not m.startswith("kshim.backends")
                 for target, line, _ in imports if target.split(".")[0] in FRAMEWORKS]
    assert not offenders, "framework imports outside kshim/backends/:\n" + "\n".join(offenders)


def _names_backend(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in BACKEND_NAMES


def _asks_for_the_backend(node):
    """`config.backend()`, `keras.config.backend()`, `backend()`, or a name like `backend_name`."""
    if isinstance(node, ast.Call):
        node = node.func
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return "backend" in name.lower()


def test_nothing_outside_backends_branches_on_a_backend_name():
    offenders = []
    for module, (path, _, _) in SCAN.items():
        if module.startswith("kshim.backends"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            where = _where(module, getattr(node, "lineno", 0))
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                names = [e for operand in operands
                         for e in (operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand])]
                if any(_names_backend(e) for e in names) and any(_asks_for_the_backend(o) for o in operands):
                    offenders.append(f"{where}: compares the backend with a backend name")
            elif isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if BACKEND_NAMES <= keys:
                    offenders.append(f"{where}: a table keyed by backend name")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(
                    ("kshim.backends.jax", "kshim.backends.torch")):
                offenders.append(f"{where}: names a backend's module")
            elif isinstance(node, ast.JoinedStr) and any(
                    isinstance(v, ast.Constant) and str(v.value).startswith("kshim.backends.") for v in node.values):
                offenders.append(f"{where}: builds a backend module path")
    assert not offenders, "backend knowledge outside kshim/backends/:\n" + "\n".join(offenders)


def _unit_graph():
    graph = {}
    for module, (_, _, imports) in SCAN.items():
        src = _unit(module)
        for target, line, _ in imports:
            if not target.startswith("kshim.") and target != "kshim":
                continue
            dst = _unit(target)
            if dst != src and dst not in FACADES and src not in FACADES:
                graph.setdefault(src, {}).setdefault(dst, _where(module, line))
    return graph


def test_no_import_cycle_between_packages():
    graph = _unit_graph()
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def connect(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
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
                cycles.append(component)

    for vertex in list(graph):
        if vertex not in index:
            connect(vertex)
    report = []
    for component in cycles:
        edges = [f"  {a} -> {b} ({graph[a][b]})" for a in component for b in graph.get(a, {}) if b in component]
        report.append(f"cycle {sorted(component)}:\n" + "\n".join(edges))
    assert not cycles, "\n".join(report)


def test_imports_only_go_down_the_layers():
    offenders = []
    for src, targets in _unit_graph().items():
        for dst, where in targets.items():
            a, b = _layer_of(src), _layer_of(dst)
            if a is None or b is None:
                offenders.append(f"{where}: {src} -> {dst}: add the package to LAYERS in this test and to "
                                 "docs/architecture.md")
            elif b > a:
                offenders.append(f"{where}: {src} (layer {a}) imports {dst} (layer {b}), which is above it")
    assert not offenders, "\n".join(offenders)


def test_every_import_inside_a_function_says_why():
    undocumented = []
    for module, (_, lines, imports) in SCAN.items():
        for target, line, nested in imports:
            if not nested:
                continue
            here, above = lines[line - 1], lines[line - 2] if line > 1 else ""
            if "#" not in here and "#" not in above:
                undocumented.append(f"{_where(module, line)} imports {target}")
    assert not undocumented, ("imports inside functions must say why (an optional dependency, a lazy public "
                              "name), in a comment:\n" + "\n".join(undocumented))


@pytest.mark.parametrize("rule", ["frameworks", "cycles"])
def test_the_checks_can_fail(rule, tmp_path):
    """The scanner sees function-level imports and cycles: a planted violation is caught."""
    if rule == "frameworks":
        visitor = _Imports("kshim.layers.core", False)
        visitor.visit(ast.parse("def f():\n    import torch\n"))
        assert visitor.found == [("torch", 2, True)]
    else:
        visitor = _Imports("kshim.saving.x", False)
        visitor.visit(ast.parse("def f():\n    from ..models import model\n"))
        assert visitor.found[0][0] == "kshim.models.model" and visitor.found[0][2]
