"""The layout the house style promises, checked on the source itself (parsed, not run): the
core depends on no service, and views are short because their declarations do the work."""

import ast
import statistics
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}


def imported_modules(path: Path) -> set[str]:
    """The absolute names of the modules `path` imports (relative imports resolved), and the
    strings it holds that name one (what importlib.import_module would import)."""
    package = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            names.add(".".join(part for part in (base, node.module or "") if part))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
    return names


def view_bodies() -> dict[str, int]:
    """Each route function of blueprints/*/application.py, and its body's lines (the
    docstring left out)."""
    bodies = {}
    for path in sorted(PROJECT_ROOT.glob("blueprints/*/application.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or not any(
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr in ROUTE_DECORATORS
                for decorator in node.decorator_list
            ):
                continue
            statements = node.body
            if isinstance(statements[0], ast.Expr) and isinstance(
                statements[0].value, ast.Constant
            ):
                statements = statements[1:]
            lines = statements[-1].end_lineno - statements[0].lineno + 1 if statements else 0
            bodies[f"{path.parent.name}.{node.name}"] = lines
    return bodies


def test_no_module_of_the_core_but_the_factory_imports_a_service():
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "blueprints"
        )
        for path in sorted((PROJECT_ROOT / "app").rglob("*.py"))
        if path != PROJECT_ROOT / "app" / "__init__.py"
    }

    assert {path: names for path, names in offenders.items() if names} == {}


def test_views_are_short_their_declarations_do_the_work():
    bodies = view_bodies()

    assert len(bodies) > 20  # every service's routes were found
    assert statistics.median(bodies.values()) <= 4, bodies
    assert {view: lines for view, lines in bodies.items() if lines > 10} == {}
