"""The house's rules, read from the code: which part may import which, no circles, documented interfaces.

Layers, lowest first. A module imports only from its own layer or below; within a layer, parts may
use each other as long as no circle forms. Imports inside functions count too: hiding an import in
a function does not make the dependency go away. The rules a newcomer needs:

- ``workspaces`` is tenancy and imports nothing above it;
- ``records`` and ``telemetry`` hold data and import no process app;
- connectors know nothing of Django or the app;
- views never import views: what two pages share lives in a service, a form or the model.
"""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LAYERS = (
    ("ground", ("connectors", "opsview.common", "opsview.env")),
    ("tenancy", ("opsview.workspaces",)),
    # Every action writes the trail.
    ("audit trail", ("opsview.audit",)),
    ("data", ("opsview.accounts", "opsview.records", "opsview.telemetry", "opsview.systems", "opsview.api")),
    ("exceptions", ("opsview.queues",)),
    ("ingest and KPIs", ("opsview.ingest", "opsview.kpis")),
    ("pulls", ("opsview.pulls",)),
    ("replay", ("opsview.replay",)),
    ("reconciliation", ("opsview.reconcile",)),
    # Sending a message knows nothing of why; alerts decide what to send, to whom, and when.
    ("notifications", ("opsview.notify",)),
    ("alerts", ("opsview.alerts",)),
    # Setting up a firm touches every part below: its queue settings, systems, tokens, people.
    ("firms and onboarding", ("opsview.firms",)),
    ("pages", ("opsview.dashboards", "opsview.front")),
    ("the whole", ("opsview.demo", "opsview.urls", "opsview.settings", "opsview.wsgi", "opsview.health")),
)
PROCESS_APPS = (
    "opsview.queues",
    "opsview.ingest",
    "opsview.pulls",
    "opsview.replay",
    "opsview.reconcile",
    "opsview.notify",
    "opsview.alerts",
    "opsview.firms",
    "opsview.kpis",
    "opsview.dashboards",
    "opsview.front",
    "opsview.demo",
)
DATA_APPS = ("opsview.records", "opsview.telemetry")


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    module_name(path): path
    for package in ("opsview", "connectors")
    for path in sorted((ROOT / package).rglob("*.py"))
    # The root package is empty: it holds the apps, it is not one.
    if "migrations" not in path.parts and path != ROOT / "opsview" / "__init__.py"
}


def part_of(name):
    """The longest prefix of ``name`` that a layer names: ``opsview.workspaces.views`` before ``opsview.workspaces``."""
    best = None
    for number, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (number, prefix)
    return best


def imports_of(name):
    """The project's modules that ``name`` imports, anywhere in its body, with the line of each."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            # "from opsview.queues import models" imports the module opsview.queues.models.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and (target, node.lineno) not in found:
                found.append((target, node.lineno))
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def test_every_module_of_the_app_has_a_layer():
    assert [name for name in MODULES if part_of(name) is None] == []


def test_no_module_imports_from_a_higher_layer():
    upward = [
        f"{name}:{line} imports {target} ({LAYERS[part_of(target)[0]][0]} is above {LAYERS[part_of(name)[0]][0]})"
        for name, targets in GRAPH.items()
        for target, line in targets
        if part_of(target)[0] > part_of(name)[0]
    ]
    assert not upward, "\n".join(map(str, upward))


def test_records_and_telemetry_import_no_process_app():
    wrong = [
        f"{name}:{line} imports {target}"
        for name, targets in GRAPH.items()
        if name.startswith(DATA_APPS)
        for target, line in targets
        if target.startswith(PROCESS_APPS)
    ]
    assert not wrong, "\n".join(map(str, wrong))


def test_views_never_import_views():
    def is_view(name):
        return name.rpartition(".")[2] in ("views", "api") or name.endswith("_views")

    wrong = [
        f"{name}:{line} imports {target}"
        for name, targets in GRAPH.items()
        if is_view(name)
        for target, line in targets
        if is_view(target)
    ]
    assert not wrong, "\n".join(map(str, wrong))


def test_no_import_circles():
    """Between modules, and between parts (an app, a package): each part's arrows run one way."""
    parts = defaultdict(set)
    for name, targets in GRAPH.items():
        for target, _ in targets:
            if part_of(target)[1] != part_of(name)[1]:
                parts[part_of(name)[1]].add(part_of(target)[1])
    modules = {name: {target for target, _ in targets} for name, targets in GRAPH.items()}
    assert not circles(modules), circles(modules)
    for circle in circles(parts):
        raise AssertionError("parts import each other in a circle:\n" + "\n".join(one_loop(circle, parts)))


def one_loop(circle, parts):
    """The shortest loop through the circle's first part, each hop named by one import that makes it."""
    start = circle[0]
    came_from, queue = {}, [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(parts[node]):
            if nxt == start:
                hops, at = [(node, start)], node
                while at != start:
                    hops.insert(0, (came_from[at], at))
                    at = came_from[at]
                return [
                    next(
                        f"{name}:{line} imports {target}"
                        for name, targets in GRAPH.items()
                        if part_of(name)[1] == low
                        for target, line in targets
                        if part_of(target)[1] == high
                    )
                    for low, high in hops
                ]
            if nxt in circle and nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return circle


def circles(graph):
    """Strongly connected groups of more than one node (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
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
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_hidden_imports():
    """Models and modules are imported by name, so the rules above see every dependency."""
    hidden = [
        f"{name}: {word}"
        for name, path in MODULES.items()
        for word in ("apps.get_model(", "import_module(", "__import__(")
        if word in path.read_text()
    ]
    assert not hidden, "\n".join(map(str, hidden))


def test_connectors_know_nothing_of_django_or_the_app():
    wrong = []
    for name, path in MODULES.items():
        if not name.startswith("connectors"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            wrong += [
                f"{name} imports {n}" for n in names if n.split(".")[0] in ("django", "rest_framework", "opsview")
            ]
    assert not wrong, "\n".join(map(str, wrong))


def public_definitions(tree):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            yield node.name, node
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    if isinstance(member, ast.FunctionDef) and not member.name.startswith("_"):
                        yield f"{node.name}.{member.name}", member


def test_every_public_function_of_connectors_and_the_kpis_has_a_docstring():
    """connectors/ and the KPI functions are read by people wiring a new system or checking a figure."""
    missing = [
        f"{name}: {definition}"
        for name, path in MODULES.items()
        if name.startswith("connectors") or name.startswith("opsview.kpis.") and name.count(".") == 2
        for definition, node in public_definitions(ast.parse(path.read_text()))
        if not ast.get_docstring(node)
        and (name.startswith("connectors") or isinstance(node, ast.FunctionDef) and "." not in definition)
        and name != "opsview.kpis.apps"
    ]
    assert not missing, "\n".join(map(str, missing))


def test_modules_stay_short():
    """A module a newcomer can read in one sitting: past about 400 lines it asks to be split by what it does;
    past 450 it must be."""
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > 450}
    assert long == {}
