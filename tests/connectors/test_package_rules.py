"""Project rules for connectors/: every public function documented, no Django, short modules."""

import ast
from pathlib import Path

import connectors

PACKAGE = Path(connectors.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))


def public_definitions(tree):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            yield node.name, node
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    if isinstance(member, ast.FunctionDef) and not member.name.startswith("_"):
                        yield f"{node.name}.{member.name}", member


def test_every_public_function_and_class_has_a_docstring():
    missing = [
        f"{module.name}: {name}"
        for module in MODULES
        for name, node in public_definitions(ast.parse(module.read_text()))
        if not ast.get_docstring(node)
    ]
    assert missing == []


def test_connectors_know_nothing_of_django_or_the_app():
    for module in MODULES:
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] in ("django", "rest_framework", "opsview")], module.name


def test_modules_stay_short():
    assert {m.name: len(m.read_text().splitlines()) for m in MODULES if len(m.read_text().splitlines()) > 400} == {}
