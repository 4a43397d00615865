"""The project's modules import each other one way: no module reaches, however indirectly, back
to itself. Imports written inside functions count too: they only postpone a cycle to run time."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("higgsweb", "generations", "characters", "bench")


def project_modules():
    """{dotted name: path} for every module of the project's packages (migrations aside: they
    name the models by string)."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_by(name, path, modules):
    """The project modules `name` imports anywhere in its file, top level or in a function."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            # `from package import module` imports that module; `from module import name`, the module.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in modules and target != name)
    return found


def import_graph():
    modules = project_modules()
    return {name: imported_by(name, path, modules) for name, path in modules.items()}


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm), each
    sorted; a module in none of them cannot reach itself."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_finder_sees_function_level_and_relative_imports(tmp_path):
    modules = {"app": tmp_path / "app" / "__init__.py", "app.a": tmp_path / "app" / "a.py",
               "app.b": tmp_path / "app" / "b.py", "app.c": tmp_path / "app" / "c.py"}
    for path in modules.values():
        path.parent.mkdir(exist_ok=True)
    modules["app"].write_text("from . import a\n")
    modules["app.a"].write_text("def later():\n    from app import b\n    return b\n")
    modules["app.b"].write_text("from .c import thing\n")
    modules["app.c"].write_text("import app.a\nthing = 1\n")
    graph = {name: imported_by(name, path, modules) for name, path in modules.items()}
    assert graph == {"app": {"app.a"}, "app.a": {"app.b"}, "app.b": {"app.c"}, "app.c": {"app.a"}}
    assert cycles(graph) == [["app.a", "app.b", "app.c"]]


def test_the_graph_covers_the_pipeline():
    graph = import_graph()
    assert "generations.pipeline" in graph["generations.views"]
    assert "generations.models" in graph["generations.pipeline"]


def test_no_module_of_the_project_imports_itself_in_a_circle():
    found = cycles(import_graph())
    assert found == [], "import cycles: " + "; ".join(" ↔ ".join(component) for component in found)
