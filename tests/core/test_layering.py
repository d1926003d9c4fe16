"""Domains import one way: a package may import its own modules and those of lower layers,
never a higher one (issue 19). Higher layers hear from lower ones through blinker signals
(cases.signals, contacts.signals). The app factory, the command line, the demo data and the
page chrome sit above every domain."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "helpline"

# Lowest first; a module may import anything in its own layer or below.
LAYERS: list[set[str]] = [
    {"extensions", "timeutil", "config", "htmx", "rules", "numbers", "db_errors", "badges", "events",
     "jobs", "mailer", "mail_texts", "site_settings", "submissions", "logs", "timing",
     "catcher", "errors", "static_files"},
    {"audit"},
    {"auth"},
    {"lookups"},
    {"notifications"},
    {"contacts"},
    {"cases"},
    {"interactions"},
    {"callbacks"},
    {"callback_requests"},
    {"review", "supervisor", "knowledge", "admin", "health", "telephony"},
    {"__init__", "cli", "demo", "demo_records", "models", "worker", "metrics", "run", "setup",
     "backup", "navigation", "training"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _unit(path: Path, root: Path = ROOT) -> str:
    """The package (domain) or top-level module a file belongs to."""
    return path.relative_to(root).with_suffix("").parts[0]


def _imported_units(path: Path, root: Path = ROOT) -> list[tuple[int, str, bool]]:
    """(line, unit, inside a function) for every import of helpline code in a file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    typing_only = {id(inner) for node in tree.body if isinstance(node, ast.If)
                   and getattr(node.test, "id", None) == "TYPE_CHECKING"
                   for inner in ast.walk(node)}
    package = path.relative_to(root.parent).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: nothing is imported at run time
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                names = [target + [a.name] for a in node.names] if len(target) == 1 else [target]
            elif (node.module or "").startswith("helpline"):
                target = node.module.split(".")
                names = [target + [a.name] for a in node.names] if len(target) == 1 else [target]
            else:
                continue
            for parts in names:
                if len(parts) >= 2:
                    found.append((node.lineno, parts[1], id(node) not in top))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "helpline" and len(parts) >= 2:
                    found.append((node.lineno, parts[1], id(node) not in top))
    return found


def upward_imports(root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        unit = _unit(path, root)
        if unit not in RANK:
            out.append(f"{path.relative_to(root)}: {unit} is in no layer (add it to LAYERS)")
            continue
        for line, target, _inside in _imported_units(path, root):
            if target in RANK and RANK[target] > RANK[unit]:
                out.append(f"{path.relative_to(root)}:{line}: {unit} imports {target} (higher)")
    return out


def test_no_domain_imports_a_higher_one():
    assert upward_imports() == []


def test_the_layering_test_catches_an_upward_import(tmp_path):
    """A test of the test: a copy of the package with one upward import added fails."""
    import shutil
    copy = tmp_path / "helpline"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.txt.gz"))
    services = copy / "contacts" / "services.py"
    services.write_text(services.read_text() + "\n\ndef _late():\n"
                        "    from ..cases.models import Case  # upward, inside a function\n"
                        "    return Case\n")
    found = upward_imports(copy)
    assert any("contacts/services.py" in f and "imports cases" in f for f in found), found
    (copy / "contacts" / "services.py").write_text((ROOT / "contacts" / "services.py")
                                                    .read_text())
    assert upward_imports(copy) == []


def _says_why(lines: list[str], line: int) -> bool:
    """A comment on the import's line, or on the line above its block of imports."""
    if "#" in lines[line - 1]:
        return True
    above = line - 2
    while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix()
                                        for p in ROOT.rglob("*.py")))
def test_imports_inside_functions_say_why(path):
    """No imports inside functions except where a comment says why (the app factory)."""
    file = ROOT / path
    lines = file.read_text().splitlines()
    bare = [f"{path}:{line}: {lines[line - 1].strip()}"
            for line, _target, inside in _imported_units(file)
            if inside and not _says_why(lines, line)]
    assert bare == []
