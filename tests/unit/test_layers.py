"""The layers import one way only: web, cli and tasks → services → engine → models → the
ground (config, extensions and the helpers of no layer). Every import in app/ is read, at any
depth (an import inside a function runs upward all the same), and each must point at its own
floor or one below. The engine reaches the tasks only by the dotted names in engine/queues.py,
so those names must lead to real functions.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from app.engine import queues

APP = Path(__file__).resolve().parents[2] / "app"

GROUND, MODELS, ENGINE, SERVICES, TOP = range(5)
FLOORS = {
    "models": MODELS,
    "engine": ENGINE,
    "services": SERVICES,
    "tasks": TOP,
    "web": TOP,
    "cli": TOP,
    "admin_commands": TOP,
    "__main__": TOP,
    "gunicorn_hooks": TOP,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path) for path in APP.rglob("*.py")}


def floor(module: str) -> int:
    """``app`` itself is create_app, which wires every blueprint: the top floor."""
    parts = module.split(".")
    if len(parts) == 1:
        return TOP
    return FLOORS.get(parts[1], GROUND)


def imported(module: str, source: str, is_package: bool = False):
    """(line, module) for every import of our own code in ``source``, at any depth."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from app.engine import jobs` imports the module app.engine.jobs
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target == "app" or target.startswith("app."):
                yield node.lineno, target


def upward(module: str, source: str, is_package: bool = False) -> list[str]:
    return [
        f"{module}:{line} imports {target}"
        for line, target in imported(module, source, is_package)
        if floor(target) > floor(module)
    ]


def test_no_import_runs_upward():
    found = []
    for path in sorted(APP.rglob("*.py")):
        found += upward(module_name(path), path.read_text(), path.name == "__init__.py")
    assert not found, "imports that run upward:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("app.engine.scheduler", "def f():\n    from app.tasks import jobs\n"),
        ("app.engine.results", "from app.services import incidents\n"),
        ("app.engine.probe", "import app.web.api\n"),
        ("app.services.monitors", "if True:\n    import app.tasks.jobs\n"),
        ("app.services.pings", "from app.web.ping import routes\n"),
        ("app.models.monitor", "from app.engine import schedule\n"),
        ("app.models.monitor", "from ..services import monitors\n"),
        ("app.extensions", "from app.models import Monitor\n"),
    ],
)
def test_an_upward_import_is_found_wherever_it_is_written(module, source):
    assert upward(module, source) != []


def test_downward_and_sideways_imports_are_allowed():
    source = "from app.engine import schedule\nfrom app.services import incidents\n"
    assert upward("app.services.monitors", source) == []
    assert upward("app.tasks.jobs", source + "from app.models import Monitor\n") == []
    assert upward("app.web.api.monitors", "from app.tasks import jobs\n") == []


@pytest.mark.parametrize(
    "constant", ["RUN_BATCH", "SEND_NOTIFICATION", "SEND_DUE_NOTIFICATIONS", "PRUNE_HISTORY"]
)
def test_each_job_named_by_the_engine_is_a_task(constant):
    module, _, function = getattr(queues, constant).rpartition(".")
    assert module.startswith("app.tasks.")
    assert inspect.isfunction(getattr(importlib.import_module(module), function))
