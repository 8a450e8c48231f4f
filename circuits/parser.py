"""Text → gate graph, safely: a character whitelist, then ``ast.parse`` and a node whitelist.

The text comes from a browser. Nothing here evaluates it: ``ast.parse`` only builds a syntax
tree, and the walk below accepts numbers, names, + − × ÷, ** with a literal exponent, unary
minus and calls of the functions in ``gates.FUNCTIONS``; everything else is an ExpressionError
saying what and where. The length is checked before the parser sees the text, and the walk
stops at the depth limit, so no input can exhaust the stack.
"""

import ast
import math
import re
import string

from .errors import ExpressionError
from .gates import CONSTANT_ROLE, FUNCTIONS, GATES, INPUT_ROLE, number_text, power_gate
from .node import Node

MAX_LENGTH = 300      # characters
MAX_NODES = 200       # inputs, constants and gates together
MAX_DEPTH = 50        # gates on the longest path from the output down to an input
MAX_VARIABLES = 8
MAX_EXPONENT = 10     # |p| in a ** p

# Names, numeric literals (as Python's tokenizer reads them), or any other single character.
_TOKEN = re.compile(r"[A-Za-z_]\w*"
                    r"|0[xXoObB][0-9A-Fa-f_]*"
                    r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?[\d_]*)?[jJ]?"
                    r"|.", re.ASCII)
_WORD = re.compile(r"\w+", re.ASCII)
_DOT_DIGITS = frozenset("." + digit for digit in string.digits)

_ALLOWED = frozenset(string.ascii_letters + string.digits + "_.+-*/(), ")

_CHARACTER_HINTS = {
    "[": "subscripts and lists are not allowed",
    "]": "subscripts and lists are not allowed",
    "{": "sets, dicts and f-strings are not allowed",
    "}": "sets, dicts and f-strings are not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "=": "assignments, keyword arguments and comparisons are not allowed",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
    "!": "comparisons are not allowed",
    ":": "lambdas, slices and := are not allowed",
    ";": "only one expression is allowed",
    "#": "comments are not allowed",
    "\\": "backslashes are not allowed",
    "@": "the @ operator and decorators are not allowed",
    "%": "the % operator is not allowed",
    "&": "bitwise operators are not allowed",
    "|": "bitwise operators are not allowed",
    "^": "bitwise operators are not allowed; write powers as x**2",
    "~": "bitwise operators are not allowed",
}

_FORBIDDEN_SYNTAX = {
    "Attribute": "attribute access (a.b) is not allowed",
    "Subscript": "subscripts (a[i]) are not allowed",
    "Lambda": "lambdas are not allowed",
    "ListComp": "comprehensions are not allowed",
    "SetComp": "comprehensions are not allowed",
    "DictComp": "comprehensions are not allowed",
    "GeneratorExp": "generator expressions are not allowed",
    "JoinedStr": "f-strings are not allowed",
    "FormattedValue": "f-strings are not allowed",
    "NamedExpr": "the walrus operator := is not allowed",
    "Starred": "starred arguments (*a) are not allowed",
    "Compare": "comparisons are not allowed",
    "BoolOp": "boolean operators (and, or) are not allowed",
    "IfExp": "conditional expressions (a if b else c) are not allowed",
    "Await": "await is not allowed",
    "Yield": "yield is not allowed",
    "YieldFrom": "yield is not allowed",
    "Tuple": "tuples are not allowed",
    "List": "lists are not allowed",
    "Set": "sets are not allowed",
    "Dict": "dicts are not allowed",
    "Slice": "slices are not allowed",
}

_BINARY_GATES = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}

_OPERATOR_NAMES = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&",
}

_NOT_A_NUMBER_NAMES = frozenset({"inf", "infinity", "nan"})

_GREEK = frozenset({
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega",
})

# Precedence for writing a subexpression back as text (higher binds tighter).
_SUM, _PRODUCT, _NEGATIVE, _POWER, _ATOM = 1, 2, 3, 4, 5
_PRECEDENCE = {"add": _SUM, "sub": _SUM, "mul": _PRODUCT, "div": _PRODUCT, "neg": _NEGATIVE,
               "pow": _POWER}

_LATEX_FUNCTIONS = {
    "exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tanh": r"\tanh",
    "max": r"\max", "min": r"\min", "sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}",
    "gelu": r"\operatorname{GELU}", "silu": r"\operatorname{SiLU}",
}


def check_text(text) -> tuple[str, int]:
    """Reject what must never reach ast.parse; return the text without leading spaces and how
    many were stripped (columns in messages count them)."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    for index, char in enumerate(text):
        if char in _ALLOWED:
            continue
        column = index + 1
        if ord(char) > 127:
            raise ExpressionError(
                f"non-ASCII character {char!r} (U+{ord(char):04X}) is not allowed: only ASCII "
                "letters, digits, spaces and _ . + - * / ( ) , may be used (a look-alike of an "
                "ASCII letter?)", column)
        if char in "\n\r\t":
            raise ExpressionError(
                "line breaks and tabs are not allowed: write the expression on one line", column)
        if not char.isprintable():
            raise ExpressionError(
                f"control character U+{ord(char):04X} is not allowed", column)
        hint = _CHARACTER_HINTS.get(char, "it is not part of an expression")
        raise ExpressionError(f"character {char!r} is not allowed: {hint}", column)
    body = text.lstrip(" ")
    if not body.strip(" "):
        raise ExpressionError("the expression is empty")
    for token in _TOKEN.finditer(text):
        end = token.end()
        is_number = token.group()[0].isdigit() or token.group()[:2] in _DOT_DIGITS
        if is_number and end < len(text) and (
                text[end].isalnum() or text[end] == "_"):
            # Python would only warn ("invalid decimal literal"); say what to write instead.
            number, name = token.group(), _WORD.match(text, end).group()
            raise ExpressionError(
                f"a number runs into a name: write {number}*{name}, not {number}{name}", end + 1)
    return body, len(text) - len(body)


def parse_nodes(text) -> tuple[list[Node], int]:
    """The nodes of ``text`` in topological order (inputs before the gates that read them) and
    the id of the output node."""
    body, indent = check_text(text)
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as error:
        offset = error.offset
        if offset is None or not 1 <= offset <= len(body) + 1:
            offset = len(body) + 1   # Python points nowhere: the input ended too early
        column = offset + indent
        message = error.msg[0].lower() + error.msg[1:] if error.msg else "invalid syntax"
        raise ExpressionError(f"syntax error: {message}", column) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply to read") from None
    except (ValueError, OverflowError) as error:
        raise ExpressionError(f"the expression cannot be read: {error}") from None
    builder = _Builder(indent)
    try:
        output = builder.build(tree.body, 0)
    except RecursionError:
        # The walk nests at most ~2 calls per gate level (MAX_DEPTH bounds it); only a caller
        # already deep in its own stack can get here.
        raise ExpressionError("the expression is nested too deeply to read") from None
    return builder.nodes, output


class _Builder:
    """Walks the syntax tree once, appending a node after its inputs (so ``nodes`` is in
    topological order and a node's id is its index)."""

    def __init__(self, indent: int):
        self.indent = indent
        self.nodes: list[Node] = []
        self.variable_ids: dict[str, int] = {}

    def column(self, syntax: ast.AST) -> int:
        return syntax.col_offset + 1 + self.indent

    def fail(self, message: str, syntax: ast.AST):
        raise ExpressionError(message, self.column(syntax))

    def add(self, syntax: ast.AST, **fields) -> int:
        if len(self.nodes) >= MAX_NODES:
            self.fail(f"the expression has more than {MAX_NODES} nodes", syntax)
        node = Node(id=len(self.nodes), column=self.column(syntax), **fields)
        self.nodes.append(node)
        for slot, source in enumerate(node.inputs):
            self.nodes[source].outputs += ((node.id, slot),)
        return node.id

    def build(self, syntax: ast.AST, depth: int) -> int:
        """The id of the node computing ``syntax``; ``depth`` gates lie above it."""
        if isinstance(syntax, ast.Constant):
            return self.constant(self.number(syntax), syntax)
        if isinstance(syntax, ast.Name):
            return self.variable(syntax)
        if isinstance(syntax, ast.UnaryOp):
            return self.unary(syntax, depth)
        if isinstance(syntax, ast.BinOp):
            return self.binary(syntax, depth)
        if isinstance(syntax, ast.Call):
            return self.call(syntax, depth)
        kind = type(syntax).__name__
        self.fail(_FORBIDDEN_SYNTAX.get(kind, f"{kind} is not allowed"), syntax)

    def enter_gate(self, syntax: ast.AST, depth: int) -> int:
        if depth + 1 > MAX_DEPTH:
            self.fail(f"the expression is nested more than {MAX_DEPTH} gates deep", syntax)
        return depth + 1

    def number(self, syntax: ast.Constant) -> float:
        value = syntax.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            self.fail(f"{value!r} is not allowed: only numbers and variables", syntax)
        if isinstance(value, (str, bytes)):
            self.fail("strings are not allowed", syntax)
        if isinstance(value, complex):
            self.fail("complex numbers are not allowed", syntax)
        if not isinstance(value, (int, float)):
            self.fail(f"{type(value).__name__} constants are not allowed", syntax)
        try:
            number = float(value)
        except OverflowError:
            self.fail("the number is too large", syntax)
        if not math.isfinite(number):
            self.fail("infinite or NaN constants are not allowed", syntax)
        return number

    def constant(self, value: float, syntax: ast.AST) -> int:
        shown = number_text(value)
        latex = _latex_number(shown)
        return self.add(syntax, op="const", inputs=(), label=shown, role=CONSTANT_ROLE,
                        text=shown, latex=latex, param=value,
                        precedence=_NEGATIVE if math.copysign(1.0, value) < 0 else _ATOM)

    def variable(self, syntax: ast.Name) -> int:
        name = syntax.id
        if name in FUNCTIONS:
            self.fail(f"{name} is a function: call it, as in {name}(x)", syntax)
        if name.startswith("_"):
            self.fail(f"names starting with _ are not allowed ({name})", syntax)
        if name.lower() in _NOT_A_NUMBER_NAMES:
            self.fail(f"{name} is not allowed: infinite or NaN constants are rejected", syntax)
        if name in self.variable_ids:
            return self.variable_ids[name]
        if len(self.variable_ids) >= MAX_VARIABLES:
            self.fail(f"more than {MAX_VARIABLES} variables ({name} would be number "
                      f"{MAX_VARIABLES + 1})", syntax)
        node_id = self.add(syntax, op="var", inputs=(), label=name, role=INPUT_ROLE, text=name,
                           latex=_latex_name(name), name=name, precedence=_ATOM)
        self.variable_ids[name] = node_id
        return node_id

    def unary(self, syntax: ast.UnaryOp, depth: int) -> int:
        if isinstance(syntax.op, ast.UAdd):
            while isinstance(syntax, ast.UnaryOp) and isinstance(syntax.op, ast.UAdd):
                syntax = syntax.operand   # "+++x" is x: a loop, so no nesting of calls
            return self.build(syntax, depth)
        operand = syntax.operand
        if not isinstance(syntax.op, ast.USub):
            word = "not" if isinstance(syntax.op, ast.Not) else "~"
            self.fail(f"the operator {word} is not allowed", syntax)
        if isinstance(operand, ast.Constant):
            # "-3" is the constant −3, not a negation gate over 3.
            return self.constant(-self.number(operand), syntax)
        depth = self.enter_gate(syntax, depth)
        source = self.nodes[self.build(operand, depth)]
        text = _wrap(source.text, source.precedence <= _NEGATIVE and source.op != "pow")
        latex = _wrap_latex(source.latex, source.precedence < _NEGATIVE)
        return self.gate(syntax, GATES["neg"], (source.id,), "-" + text, "-" + latex, _NEGATIVE)

    def binary(self, syntax: ast.BinOp, depth: int) -> int:
        operator = type(syntax.op)
        if operator is ast.Pow:
            return self.power(syntax, depth)
        if operator not in _BINARY_GATES:
            shown = _OPERATOR_NAMES.get(operator, operator.__name__)
            self.fail(f"the operator {shown} is not allowed", syntax)
        op = _BINARY_GATES[operator]
        depth = self.enter_gate(syntax, depth)
        left = self.nodes[self.build(syntax.left, depth)]
        right = self.nodes[self.build(syntax.right, depth)]
        level = _PRECEDENCE[op]
        # Parenthesize so that the text reads back as the same tree.
        left_text = _wrap(left.text, left.precedence < level)
        right_text = _wrap(right.text, right.precedence <= level or right.precedence == _NEGATIVE)
        symbol = {"add": " + ", "sub": " - ", "mul": " * ", "div": " / "}[op]
        if op == "div":
            latex = rf"\frac{{{left.latex}}}{{{right.latex}}}"
        else:
            left_latex = _wrap_latex(left.latex, left.precedence < level and left.op != "div")
            right_latex = _wrap_latex(right.latex, right.op != "div" and (
                right.precedence < level or (op == "sub" and right.precedence == level)
                or right.precedence == _NEGATIVE))
            joiner = {"add": " + ", "sub": " - ", "mul": r" \cdot "}[op]
            if op == "mul" and left.op == "const" and left.param >= 0 and right_latex[0] in (
                    string.ascii_letters + "\\"):
                joiner = " "   # 3 y^{2}, not 3 \cdot y^{2}
            latex = left_latex + joiner + right_latex
        return self.gate(syntax, GATES[op], (left.id, right.id),
                         left_text + symbol + right_text, latex, level)

    def power(self, syntax: ast.BinOp, depth: int) -> int:
        exponent = syntax.right
        sign = 1.0
        if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, (ast.USub, ast.UAdd)):
            sign = -1.0 if isinstance(exponent.op, ast.USub) else 1.0
            exponent = exponent.operand
        if not isinstance(exponent, ast.Constant):
            self.fail("an exponent must be a number such as 2, 0.5 or -1, not an expression",
                      syntax.right)
        p = sign * self.number(exponent)
        if abs(p) > MAX_EXPONENT:
            self.fail(f"the exponent {number_text(p)} is too large: |p| must be at most "
                      f"{MAX_EXPONENT}", syntax.right)
        depth = self.enter_gate(syntax, depth)
        base = self.nodes[self.build(syntax.left, depth)]
        shown = number_text(p)
        text = _wrap(base.text, base.precedence <= _POWER) + "**" + _wrap(shown, p < 0)
        latex = _wrap_latex(base.latex, base.op != "var" and (base.op != "const" or base.param < 0))
        return self.gate(syntax, power_gate(p), (base.id,), text, f"{latex}^{{{shown}}}",
                         _POWER, param=p)

    def call(self, syntax: ast.Call, depth: int) -> int:
        function = syntax.func
        if not isinstance(function, ast.Name):
            kind = type(function).__name__
            self.fail(_FORBIDDEN_SYNTAX.get(kind, "only the listed functions may be called"),
                      function)
        name = function.id
        if name not in FUNCTIONS:
            self.fail(f"unknown function {name}: the functions are {', '.join(FUNCTIONS)}",
                      function)
        if syntax.keywords:
            self.fail("keyword arguments are not allowed", syntax.keywords[0])
        for argument in syntax.args:
            if isinstance(argument, ast.Starred):
                self.fail(_FORBIDDEN_SYNTAX["Starred"], argument)
        gate = GATES[name]
        if len(syntax.args) != gate.arity:
            wanted = "one argument" if gate.arity == 1 else f"{gate.arity} arguments"
            self.fail(f"{name} takes {wanted}, not {len(syntax.args)}", syntax)
        depth = self.enter_gate(syntax, depth)
        sources = [self.nodes[self.build(argument, depth)] for argument in syntax.args]
        text = f"{name}({', '.join(source.text for source in sources)})"
        inner = ", ".join(source.latex for source in sources)
        if name == "sqrt":
            latex = rf"\sqrt{{{inner}}}"
        elif name == "abs":
            latex = rf"\left|{inner}\right|"
        else:
            latex = rf"{_LATEX_FUNCTIONS[name]}\left({inner}\right)"
        return self.gate(syntax, gate, tuple(source.id for source in sources), text, latex,
                         _ATOM)

    def gate(self, syntax, gate, inputs, text, latex, precedence, param=None) -> int:
        return self.add(syntax, op=gate.op, inputs=inputs, label=gate.label, role=gate.role,
                        text=text, latex=latex, param=param, precedence=precedence, gate=gate)


def _wrap(text: str, needed: bool) -> str:
    return f"({text})" if needed else text


def _wrap_latex(latex: str, needed: bool) -> str:
    return rf"\left({latex}\right)" if needed else latex


def _latex_number(shown: str) -> str:
    if "e" in shown:
        mantissa, power = shown.split("e")
        return rf"{mantissa} \cdot 10^{{{int(power)}}}"
    return shown


def _latex_name(name: str) -> str:
    """x → x, w1 → w_{1}, alpha → \\alpha, lr → \\mathrm{lr} (names are ASCII letters, digits
    and _, so nothing here can inject LaTeX)."""
    stem = name.rstrip(string.digits)
    digits = name[len(stem):]
    if stem in _GREEK:
        stem = "\\" + stem
    elif len(stem) > 1:
        stem = r"\mathrm{" + stem.replace("_", r"\_") + "}"
    return f"{stem}_{{{digits}}}" if digits else stem
