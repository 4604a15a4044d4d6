"""The layer's slim source: comments and docstrings blanked, every line where it was.

What ships beside the bytecode in each layer tree (see ``_bytecode``): what
an interpreter of another version compiles and what tracebacks show. Each
file is proved the same code (the same syntax tree, statement for statement
on the same lines) or ships as it is. Stdlib only: ``setup.py`` loads the
build modules by path inside pip's build environment.
"""

from __future__ import annotations

import ast
import io
import tokenize

__all__ = ["slim_source"]

_DOC_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _docstrings(tree: ast.AST) -> list[tuple[ast.Expr, bool]]:
    """Each docstring statement, and whether it is its body's only statement."""
    found = []
    for node in ast.walk(tree):
        body: list[ast.stmt] = getattr(node, "body", []) if isinstance(node, _DOC_OWNERS) else []
        first = body[0] if body else None
        value = getattr(first, "value", None)
        if (
            isinstance(first, ast.Expr)
            and isinstance(value, ast.Constant)
            and type(value.value) is str
        ):
            found.append((first, len(body) == 1))
    return found


def _code_shape(tree: ast.Module) -> tuple[str, list[int]]:
    """The tree without docstrings (a lone one as ``...``), and every statement's line."""
    dropped = set()
    for expr, lone in _docstrings(tree):
        if lone:
            expr.value = ast.Constant(...)
        else:
            dropped.add(id(expr))
    for node in ast.walk(tree):
        if isinstance(node, _DOC_OWNERS):
            node.body = [n for n in node.body if id(n) not in dropped]
    return ast.dump(tree), [n.lineno for n in ast.walk(tree) if isinstance(n, ast.stmt)]


def slim_source(text: str) -> str:
    """``text`` with comments and docstrings blanked, every line where it was.

    A lone docstring becomes ``...``. ``text`` itself when the result cannot
    be shown to be the same code, statement for statement on the same lines.
    """
    try:
        tree = ast.parse(text)
        lines = text.splitlines(keepends=True)
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                row, col = token.start
                line = lines[row - 1]
                lines[row - 1] = line[:col].rstrip() + line[len(line.rstrip("\r\n")) :]
        for expr, lone in sorted(_docstrings(tree), key=lambda d: -d[0].lineno):
            end = expr.end_lineno or expr.lineno
            head = lines[expr.lineno - 1].encode()[: expr.col_offset].decode()
            tail = lines[end - 1].encode()[expr.end_col_offset :].decode()
            if head.strip() or tail.strip():
                return text
            kept = f"{head}...\n" if lone else "\n"
            lines[expr.lineno - 1 : end] = [kept] + ["\n"] * (end - expr.lineno)
        slim = "".join(lines)
        return slim if _code_shape(ast.parse(slim)) == _code_shape(tree) else text
    except (SyntaxError, ValueError, UnicodeError, tokenize.TokenError):
        return text
