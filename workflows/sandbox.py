"""A whitelist sandbox for the Python carried by BPMN diagrams (conditions, timers, scripts).

Diagrams are untrusted input. Every expression and script is parsed with `ast` and every node is
checked against a whitelist on every call; the code then runs without the real builtins.
Resource use is only partly bounded (no `**`, capped `*`, `+`, `%`, `round`, `sum`, `str` and data
size): a crafted condition can still burn CPU (e.g. sorting huge nested lists), so engine steps also
need a process-level time limit.
"""

from __future__ import annotations

import ast
import copy
import functools
from types import CodeType
from typing import NoReturn

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

MAX_SOURCE_CHARS = 50_000
MAX_STRING_CHARS = 10_000
MAX_ITEMS = 100_000  # longest str/list/tuple that `*` or `+` may build
MAX_DATA = 500_000  # largest value (items + characters) that str() may render or a script may store


class UnsafeCode(ValueError):
    """Diagram code the sandbox refuses: `.reason` says what, `.lineno` where (when known)."""

    def __init__(self, reason: str, lineno: int | None = None):
        self.reason = reason
        self.lineno = lineno
        super().__init__(reason if lineno is None else f"{reason} (line {lineno})")


def _refuse(reason: str, lineno: int | None = None) -> NoReturn:
    """Raise UnsafeCode for `reason`, at line `lineno` when known."""
    raise UnsafeCode(reason, lineno)


def _weight(item: object) -> int:
    """Rough rendered size of one item: characters of a string, digits of an integer, else 1."""
    if isinstance(item, str):
        return len(item)
    return item.bit_length() // 3 + 1 if isinstance(item, int) else 1


def _check_size(value: object, limit: int, what: str) -> None:
    """Refuse `value` if its nested items and characters add up to more than `limit`."""
    stack, total = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.items())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        total += _weight(item)
        if total > limit:
            _refuse(f"{what} larger than {limit} items and characters is not allowed")


def _length(value: object) -> int | None:
    """Length of a str, list or tuple; None for anything else."""
    return len(value) if isinstance(value, str | list | tuple) else None


def _safe_mul(left, right):
    """`left * right`, refusing sequences over MAX_ITEMS and integers over 10,000 bits."""
    for seq, times in ((left, right), (right, left)):
        if _length(seq) is not None and isinstance(times, int) and _length(seq) * times > MAX_ITEMS:
            _refuse(f"building a sequence of more than {MAX_ITEMS} items is not allowed")
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > 10_000:
        _refuse("integers over 10,000 bits are not allowed")
    return left * right


def _safe_add(left, right):
    """`left + right`, refusing sequences over MAX_ITEMS."""
    if None not in (_length(left), _length(right)) and _length(left) + _length(right) > MAX_ITEMS:
        _refuse(f"building a sequence of more than {MAX_ITEMS} items is not allowed")
    return left + right


def _safe_mod(left, right):
    """`left % right` for numbers only (`"%*d" % ...` could build gigabytes)."""
    if isinstance(left, str):
        _refuse("string formatting with % is not allowed")
    return left % right


def _safe_round(number, ndigits=None):
    """`round`, refusing the ndigits that make it compute enormous powers of ten."""
    if ndigits is not None and abs(ndigits) > 100:
        _refuse("rounding to more than 100 digits is not allowed")
    return round(number, ndigits)


def _safe_sum(values, start=0):
    """`sum` of numbers only (summing lists can build huge results)."""
    if not isinstance(start, int | float):
        _refuse("sum with a start value that is not a number is not allowed")
    return sum(values, start)


def _safe_str(value=""):
    """`str` of a value small enough to render."""
    _check_size(value, MAX_DATA, "text of a value")
    return str(value)


SAFE_FUNCTIONS = {
    "len": len,
    "str": _safe_str,
    "int": int,
    "float": float,
    "bool": bool,
    "min": min,
    "max": max,
    "sum": _safe_sum,
    "abs": abs,
    "round": _safe_round,
    "any": any,
    "all": all,
    "sorted": sorted,
    "list": list,
    "dict": dict,
    "set": set,
    "tuple": tuple,
}
_OPERATOR_GUARDS = {ast.Mult: "__sandbox_mul", ast.Add: "__sandbox_add", ast.Mod: "__sandbox_mod"}
_GUARD_FUNCTIONS = {"__sandbox_mul": _safe_mul, "__sandbox_add": _safe_add, "__sandbox_mod": _safe_mod}

_OPERATORS = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)
_EXPRESSION_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.Call,
    ast.keyword,
    *_OPERATORS,
)
_SCRIPT_NODES = (ast.Module, ast.Assign, ast.AugAssign, ast.Expr, ast.Pass, *_EXPRESSION_NODES)
_CONSTANT_TYPES = (str, int, float, bool, type(None))
_REFUSALS = {
    "import statements are": ("Import", "ImportFrom"),
    "attribute access is": ("Attribute",),
    "lambda functions are": ("Lambda",),
    "function definitions are": ("FunctionDef", "AsyncFunctionDef"),
    "class definitions are": ("ClassDef",),
    "with blocks are": ("With", "AsyncWith"),
    "loops are": ("For", "AsyncFor", "While"),
    "star arguments are": ("Starred",),
    "comprehensions are": ("ListComp", "SetComp", "DictComp", "GeneratorExp"),
    "f-strings are": ("JoinedStr", "FormattedValue"),
    "the ** operator is": ("Pow",),
    "del statements are": ("Delete",),
    "if statements are": ("If",),
    "the := operator is": ("NamedExpr",),
}
_REFUSAL = {node: f"{words} not allowed" for words, nodes in _REFUSALS.items() for node in nodes}


def _check_target(target: ast.expr, line: int) -> None:
    """Allow assigning only to a name or to an item of a name (`x = ...`, `x["k"][0] = ...`)."""
    while isinstance(target, ast.Subscript):
        target = target.value
    if not isinstance(target, ast.Name):
        _refuse("assigning to anything but a name or an item of a name is not allowed", line)
    if target.id in SAFE_FUNCTIONS:
        _refuse(f"assigning to {target.id!r} is not allowed", line)


def _check_node(node: ast.AST, line: int, allowed: tuple[type, ...]) -> None:
    """Refuse one node unless its type is whitelisted and its details are harmless."""
    name = type(node).__name__
    if not isinstance(node, allowed):
        _refuse(_REFUSAL.get(name, f"{name} syntax is not allowed"), line)
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        _refuse(f"name {node.id!r} is not allowed", line)
    if isinstance(node, ast.Constant) and type(node.value) not in _CONSTANT_TYPES:
        _refuse(f"constants of type {type(node.value).__name__!r} are not allowed", line)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > MAX_STRING_CHARS:
        _refuse(f"strings longer than {MAX_STRING_CHARS} characters are not allowed", line)
    if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
        _refuse("calling anything but a named safe function is not allowed", line)
    if isinstance(node, ast.Call) and node.func.id not in SAFE_FUNCTIONS:
        _refuse(f"calling {node.func.id!r} is not allowed", line)
    if isinstance(node, ast.keyword) and node.arg is None or isinstance(node, ast.Dict) and None in node.keys:
        _refuse("** unpacking is not allowed", line)
    if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call):
        _refuse("a statement that is only a value is not allowed", line)
    targets = (
        node.targets
        if isinstance(node, ast.Assign)
        else [node.target]
        if isinstance(node, ast.AugAssign)
        else []
    )
    for target in targets:
        _check_target(target, line)


class _GuardOperators(ast.NodeTransformer):
    """Route `*`, `+` and `%` through the size-checking functions in _GUARD_FUNCTIONS."""

    def _guarded(self, op: ast.operator, left: ast.expr, right: ast.expr, where: ast.AST) -> ast.expr | None:
        guard = _OPERATOR_GUARDS.get(type(op))
        call = guard and ast.Call(ast.Name(guard, ast.Load()), [left, right], [])
        return call and ast.copy_location(call, where)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        return self._guarded(node.op, node.left, node.right, node) or node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        current = copy.deepcopy(node.target)
        for part in ast.walk(current):
            if hasattr(part, "ctx"):
                part.ctx = ast.Load()
        value = self._guarded(node.op, current, node.value, node)
        return ast.copy_location(ast.Assign([node.target], value), node) if value else node


def _walk(tree: ast.AST):
    """Yield every node with its line (operators and contexts inherit their parent's line)."""
    stack = [(tree, 1)]
    while stack:
        node, line = stack.pop()
        line = getattr(node, "lineno", line)
        yield node, line
        stack.extend((child, line) for child in ast.iter_child_nodes(node))


@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> CodeType:
    """Check `source` against the whitelist and compile it ("eval" or "exec"); cached by source."""
    if not isinstance(source, str):
        _refuse("code that is not text is not allowed")
    if len(source) > MAX_SOURCE_CHARS:
        _refuse(f"code longer than {MAX_SOURCE_CHARS} characters is not allowed")
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
        for node, line in _walk(tree):
            _check_node(node, line, _EXPRESSION_NODES if mode == "eval" else _SCRIPT_NODES)
        return compile(ast.fix_missing_locations(_GuardOperators().visit(tree)), "<string>", mode)
    except UnsafeCode:
        raise
    except SyntaxError as err:
        raise UnsafeCode(f"syntax error: {err.msg}", err.lineno) from None
    except (RecursionError, MemoryError, ValueError) as err:
        raise UnsafeCode(f"code that cannot be compiled safely is not allowed ({err})") from None


def check_expression(source: str) -> None:
    """Raise UnsafeCode unless `source` is a whitelisted expression."""
    _compile(source, "eval")


def check_script(source: str) -> None:
    """Raise UnsafeCode unless `source` is a whitelisted script (assignments only)."""
    _compile(source, "exec")


def _is_data(name: object, value: object) -> bool:
    """Whether a task-data entry may be seen by, or written back from, sandboxed code."""
    return isinstance(name, str) and not name.startswith("_") and not callable(value)


def _namespace(context: dict, external_context: dict | None) -> dict:
    """Globals for sandboxed code: the data, then the safe functions, and no real builtins."""
    names = {k: v for data in (external_context or {}, context) for k, v in data.items() if _is_data(k, v)}
    return {**names, **SAFE_FUNCTIONS, **_GUARD_FUNCTIONS, "__builtins__": {}}


class SafeEnvironment(TaskDataEnvironment):
    """A TaskDataEnvironment that checks every expression and script on every call."""

    def evaluate(self, expression, context, external_context=None):
        """Evaluate a checked expression on task data."""
        return eval(_compile(expression, "eval"), _namespace(context, external_context))

    def execute(self, script, context, external_context=None):
        """Run a checked script on a copy of task data, then write back only the data it holds."""
        code = _compile(script, "exec")
        namespace = _namespace(copy.deepcopy(context), external_context)
        exec(code, namespace)
        results = {
            name: value
            for name, value in namespace.items()
            if _is_data(name, value) and name not in SAFE_FUNCTIONS and name not in (external_context or {})
        }
        _check_size(results, MAX_DATA, "task data")
        context.update(results)
        return True

    def call_service(self, context, **kwargs):
        """Refuse: diagrams may not call services."""
        _refuse("service tasks are not supported")


class SafeScriptEngine(PythonScriptEngine):
    """A PythonScriptEngine that runs diagram code only through SafeEnvironment."""

    def __init__(self):
        super().__init__(environment=SafeEnvironment())

    def validate(self, expression):
        """Raise UnsafeCode unless `expression` is a whitelisted expression."""
        check_expression(expression)

    def evaluate(self, task, expression, external_context=None):
        """Evaluate like the base engine, adding the sandbox's reason to the error message."""
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as err:
            if isinstance(err.__context__, UnsafeCode):
                err.add_note(str(err.__context__))
            raise

    def call_service(self, task, **kwargs):
        """Refuse: diagrams may not call services."""
        _refuse("service tasks are not supported")


SAFE_SCRIPT_ENGINE = SafeScriptEngine()
