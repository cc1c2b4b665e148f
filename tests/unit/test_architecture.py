"""Structural rules of ARCHITECTURE.md, enforced: the domain is pure; public surfaces pinned."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import casebridge
import casebridge.errors as errors

SRC = Path(casebridge.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    offenders = {}
    for path in (SRC / "domain").rglob("*.py"):
        foreign = {
            name
            for name in _imports(path)
            if name not in sys.stdlib_module_names and name != "casebridge"
        }
        if foreign:
            offenders[path.name] = foreign
    assert offenders == {}


def test_domain_does_not_import_outer_layers() -> None:
    outer = ("casebridge.store", "casebridge.hub", "casebridge.services", "casebridge.gateway")
    for path in (SRC / "domain").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(outer), f"{path.name} imports {node.module}"


def test_error_tree_public_surface_is_pinned() -> None:
    assert errors.__all__ == sorted(errors.__all__)
    assert set(errors.__all__) == {
        "AuthenticationRequired",
        "CasebridgeError",
        "ConfigError",
        "Conflict",
        "CorruptData",
        "DatabaseUnavailable",
        "InvalidInput",
        "MigrationsPending",
        "NotFound",
        "PermissionDenied",
        "Problem",
        "Said",  # a marked message used inside another (casebridge.i18n)
        "StoreError",
    }
    codes = [
        cls.code
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type) and issubclass(cls, Exception)
    ]
    assert len(codes) == len(set(codes)), "every error kind needs its own stable code"


def test_standards_public_surfaces_are_pinned() -> None:
    import casebridge.domain.codes as codes
    import casebridge.domain.validators as validators
    import casebridge.standards.registry as registry

    for module in (codes, validators, registry):  # ordering: ruff RUF022
        assert all(hasattr(module, name) for name in module.__all__), module.__name__
    assert {"Standards", "load_standards"} <= set(registry.__all__)
    assert {"convert", "compile_plan", "CODED_FIELDS", "ConversionResult"} <= set(codes.__all__)
