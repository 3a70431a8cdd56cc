"""Every public function of the web layer is annotated: mypy checks the body of an annotated
function only, so an unannotated view or helper would go unchecked (a ``request.json`` that
may be None, a row that may be missing) without anyone noticing."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "app" / "web"


def unannotated(path: Path) -> list[str]:
    """The public functions (views, helpers, methods, nested handlers) of ``path`` that lack
    a return annotation or an annotation on a parameter."""
    missing = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if node.name.startswith("_"):
            continue
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        bare = [
            p.arg
            for p in params
            if p is not None and p.annotation is None and p.arg not in ("self", "cls")
        ]
        if node.returns is None or bare:
            missing.append(f"{node.name} (line {node.lineno})")
    return missing


def test_every_public_web_function_is_annotated():
    found = {str(path.relative_to(WEB)): unannotated(path) for path in sorted(WEB.rglob("*.py"))}
    missing = {name: funcs for name, funcs in found.items() if funcs}
    assert missing == {}
