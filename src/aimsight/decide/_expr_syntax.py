"""The rule language's syntax: tokens, the syntax tree, and a parser that explains mistakes.

Business users write eligibility rules in YAML, so every error names the column and the fix.
The parser is our own recursive descent over our own tokens: no Python ``eval``, ``exec`` or
``ast`` is involved, so a rule can only ever be one of the constructs below.

Precedence, loosest first: ``or``, ``and``, ``not``, comparisons (``== != < <= > >= in``,
``not in``; not chainable), ``+ -``, ``* / %``, unary ``-``, then literals, references
(``namespace.name``), lists ``[a, b]``, calls of whitelisted functions and parentheses.

Two limits keep compilation and evaluation bounded whatever the input: at most
:data:`MAX_SOURCE_LENGTH` characters and at most :data:`MAX_DEPTH` levels of nesting.
Parentheses, lists, calls, unary operators and the right-hand side of a binary operator each
count one level (``a + b * c`` nests two deep; a flat ``a + b + c + ...`` only one), so the
parser's recursion and the compiled closures' call depth both stay small.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aimsight.core.errors import InvalidInput

__all__ = [
    "FUNCTION_ARITY",
    "MAX_DEPTH",
    "MAX_SOURCE_LENGTH",
    "Arith",
    "BoolOp",
    "Call",
    "Compare",
    "ExpressionError",
    "ListNode",
    "Literal",
    "Namespaces",
    "Neg",
    "Node",
    "Not",
    "Parsed",
    "Ref",
    "parse",
]

MAX_SOURCE_LENGTH = 2000
MAX_DEPTH = 50

# name -> (fewest arguments, most arguments or None for any number, an example call)
FUNCTION_ARITY: dict[str, tuple[int, int | None, str]] = {
    "abs": (1, 1, "abs(scores.margin)"),
    "coalesce": (1, None, "coalesce(features.spend_90d, 0)"),
    "days_between": (2, 2, "days_between(features.signup_date, context.today)"),
    "is_null": (1, 1, "is_null(features.last_order_date)"),
    "len": (1, 1, "len(context.message)"),
    "lower": (1, 1, "lower(context.channel)"),
    "max": (1, None, "max(scores.churn, 0.1)"),
    "min": (1, None, "min(features.orders_90d, 10)"),
    "round": (1, 2, "round(scores.churn, 2)"),
    "upper": (1, 1, "upper(features.country)"),
}
_FUNCTION_LIST = ", ".join(sorted(FUNCTION_ARITY))

_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_LITERAL_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_PYTHON_LITERALS = {
    "True": "true",
    "TRUE": "true",
    "False": "false",
    "FALSE": "false",
    "None": "null",
    "NULL": "null",
    "Null": "null",
    "nil": "null",
}
# Binding strength of binary operators; ``not`` and unary ``-`` sit at _NOT and _NEGATE.
_COMPARISON = 4
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    **dict.fromkeys(("==", "!=", "<", "<=", ">", ">=", "in", "not in"), _COMPARISON),
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}
_NOT = 3
_NEGATE = 7
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_WHITESPACE = frozenset(" \t\r\n\f")
_DIGITS = frozenset("0123456789")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]+")
_SINGLE = frozenset("<>+-*/%()[],.")
# Operators from other languages, and what to write instead.
_FOREIGN = {
    "&&": ("'&&'", "write 'and'"),
    "||": ("'||'", "write 'or'"),
    "<>": ("'<>'", "write '!=' for 'not equal'"),
    "**": ("'**' (power)", "there is no power operator; multiply instead, e.g. x * x"),
    "//": ("'//'", "use '/' and round(x) if you need a whole number"),
}
# Characters pasted from documents, and the operator meant.
_LOOKALIKES = {"≥": ">=", "≤": "<=", "≠": "!=", "×": "*", "÷": "/", "−": "-", "–": "-"}
_EXCERPT = 80


class ExpressionError(InvalidInput):
    """Raised when a rule expression cannot be compiled.

    Attributes:
        position: the 0-based character offset of the problem in ``source``.
        source: the expression as written.
    """

    code = "invalid_expression"

    def __init__(
        self, message: str, *, position: int, source: str, field: str | None = "expression"
    ) -> None:
        super().__init__(message, field=field)
        self.position = position
        self.source = source


@dataclass(frozen=True)
class Namespaces:
    """What references an expression may use.

    ``closed`` namespaces allow only the listed names (``features``, ``scores``, ...): a rule
    naming anything else fails to compile, with a suggestion. ``open`` namespaces
    (``context``) allow any name; a name missing at evaluation time is null.
    """

    closed: Mapping[str, frozenset[str]]
    open: frozenset[str] = frozenset()

    @property
    def names(self) -> tuple[str, ...]:
        """Every namespace, sorted."""
        return tuple(sorted({*self.closed, *self.open}))


# ---------------------------------------------------------------------------------------------
# Syntax tree. Every node keeps [start, end) offsets into the source for error messages.


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, string, ``true``, ``false`` or ``null``."""

    value: Any
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference ``namespace.name``."""

    namespace: str
    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ListNode:
    """A list literal ``[a, b, ...]``."""

    items: tuple[Node, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Neg:
    """Unary minus."""

    operand: Node
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Not:
    """Logical ``not``."""

    operand: Node
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Arith:
    """A left-to-right chain of operators of one precedence, e.g. ``a + b - c``."""

    first: Node
    rest: tuple[tuple[str, Node], ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class BoolOp:
    """A chain of ``and`` or of ``or``."""

    op: str
    operands: tuple[Node, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Compare:
    """One comparison ``left op right``."""

    op: str
    left: Node
    right: Node
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a whitelisted function."""

    name: str
    args: tuple[Node, ...]
    start: int
    end: int


Node = Literal | Ref | ListNode | Neg | Not | Arith | BoolOp | Compare | Call


@dataclass(frozen=True)
class Parsed:
    """A parsed expression: its tree and the dotted names it reads."""

    tree: Node
    references: frozenset[str]


# ---------------------------------------------------------------------------------------------
# Messages


def _where(source: str, position: int) -> str:
    """``column N`` for one-line sources, ``line L, column C`` otherwise (both 1-based)."""
    if "\n" not in source:
        return f"column {position + 1}"
    line = source.count("\n", 0, position) + 1
    column = position - (source.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


def _excerpt(source: str, position: int) -> str:
    """The source in double quotes, cut to a window around ``position`` when long."""
    text = source
    if len(text) > _EXCERPT:
        start = max(0, min(position - _EXCERPT // 2, len(text) - _EXCERPT))
        end = start + _EXCERPT
        text = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    return '"' + text.replace("\n", " ").replace("\r", " ").replace("\t", " ") + '"'


def _show(text: str) -> str:
    """A token or character quoted for a message."""
    if text.isprintable() and text.isascii():
        return f"'{text}'"
    return repr(text)


def _suggest(word: str, options: list[str] | frozenset[str] | tuple[str, ...]) -> str | None:
    """The closest option to ``word``: a case-insensitive match first, then difflib's."""
    ordered = sorted(options)
    for option in ordered:
        if option.lower() == word.lower():
            return option
    matches = difflib.get_close_matches(word, ordered, n=1, cutoff=0.6)
    if not matches:
        matches = difflib.get_close_matches(word.lower(), ordered, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _one_of(options: list[str] | frozenset[str] | tuple[str, ...], limit: int = 12) -> str:
    ordered = sorted(options)
    if len(ordered) <= limit:
        return ", ".join(ordered)
    return ", ".join(ordered[:limit]) + f", ... ({len(ordered)} in all)"


def _label(namespace: str) -> str:
    """``features`` -> ``feature``; ``history`` -> ``history field``."""
    if namespace.endswith("s") and len(namespace) > 1:
        return namespace[:-1]
    return f"{namespace} field"


# ---------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "num", "str", "name", "kw", "op", "end"
    text: str  # the token as written (for strings: the source text including quotes)
    pos: int
    end: int
    value: Any = None


class _Parser:
    """Tokenizer and recursive-descent parser for one source string."""

    def __init__(self, source: str, namespaces: Namespaces, field: str | None) -> None:
        self.source = source
        self.namespaces = namespaces
        self.field = field
        self.tokens: list[_Token] = []
        self.index = 0
        self.depth = 0
        self.references: set[str] = set()

    # -- errors ----------------------------------------------------------------------------

    def fail(self, position: int, problem: str, fix: str, detail: str = "") -> ExpressionError:
        """An error whose message reads '<problem> at column N of "<source>"<detail>; <fix>'."""
        where = _where(self.source, position)
        excerpt = _excerpt(self.source, position)
        message = f"{problem} at {where} of {excerpt}{detail}; {fix}"
        return ExpressionError(message, position=position, source=self.source, field=self.field)

    # -- tokenizer -------------------------------------------------------------------------

    def tokenize(self) -> None:
        source = self.source
        length = len(source)
        tokens = self.tokens
        i = 0
        while i < length:
            ch = source[i]
            if ch in _WHITESPACE:
                i += 1
                continue
            if ch.isascii() and (ch.isalpha() or ch == "_"):
                match = _NAME.match(source, i)
                assert match is not None
                word = match.group()
                kind = "kw" if word in _KEYWORDS else "name"
                tokens.append(_Token(kind, word, i, match.end()))
                i = match.end()
                continue
            if ch in _DIGITS or (ch == "." and source[i + 1 : i + 2] in _DIGITS):
                i = self._number(i)
                continue
            if ch in "'\"":
                i = self._string(i)
                continue
            pair = source[i : i + 2]
            if pair in _FOREIGN:
                what, fix = _FOREIGN[pair]
                raise self.fail(i, f"{what} is not an operator here", fix)
            if pair in ("==", "!=", "<=", ">="):
                tokens.append(_Token("op", pair, i, i + 2))
                i += 2
                continue
            if ch in _SINGLE:
                tokens.append(_Token("op", ch, i, i + 1))
                i += 1
                continue
            raise self._bad_character(i, ch)
        tokens.append(_Token("end", "", length, length))

    def _bad_character(self, i: int, ch: str) -> ExpressionError:
        if ch == "=":
            return self.fail(i, "'=' is not an operator", "write '==' to compare")
        if ch == "!":
            return self.fail(i, "'!' is not an operator", "write 'not' to negate, '!=' to compare")
        if ch == "&":
            return self.fail(i, "'&' is not an operator", "write 'and'")
        if ch == "|":
            return self.fail(i, "'|' is not an operator", "write 'or'")
        if ch in _LOOKALIKES:
            return self.fail(i, f"{_show(ch)} is not an operator", f"write '{_LOOKALIKES[ch]}'")
        if ch in "‘’“”":
            return self.fail(
                i, f"typographic quote {_show(ch)}", "quote strings with plain ' or \" quotes"
            )
        return self.fail(
            i,
            f"unexpected character {_show(ch)}",
            "use numbers, 'strings', namespace.name references, functions and the operators "
            "== != < <= > >= in + - * / % and or not",
        )

    def _number(self, i: int) -> int:
        source = self.source
        match = _NUMBER.match(source, i)
        end = match.end() if match is not None else i
        tail = _NUMBER_TAIL.match(source, end)
        if match is None or tail is not None:
            bad = source[i : tail.end() if tail is not None else i + 1]
            raise self.fail(
                i,
                f"invalid number {_show(bad)}",
                "write numbers like 90, 0.5 or 1e-3 (a reference needs a namespace: features.name)",
            )
        text = match.group()
        value: int | float
        if any(c in text for c in ".eE"):
            value = float(text)
            if value in (float("inf"), float("-inf")):
                raise self.fail(i, f"number {_show(text)} is too large", "use a smaller number")
        else:
            value = int(text)
        self.tokens.append(_Token("num", text, i, match.end(), value))
        return match.end()

    def _string(self, i: int) -> int:
        source = self.source
        quote = source[i]
        parts: list[str] = []
        j = i + 1
        while j < len(source):
            ch = source[j]
            if ch == quote:
                self.tokens.append(_Token("str", source[i : j + 1], i, j + 1, "".join(parts)))
                return j + 1
            if ch == "\\":
                nxt = source[j + 1 : j + 2]
                if nxt not in _ESCAPES:
                    shown = "\\" + nxt if nxt else "\\"
                    raise self.fail(
                        j,
                        f"unknown escape {_show(shown)} in a string",
                        "use \\\\ for a backslash, \\' or \\\" for a quote, \\n or \\t",
                    )
                parts.append(_ESCAPES[nxt])
                j += 2
                continue
            parts.append(ch)
            j += 1
        raise self.fail(i, "unterminated string", f"close it with {quote}")

    # -- token helpers ---------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        token = self.tokens[self.index]
        return token.kind == kind and (text is None or token.text == text)

    def enter(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(
                position,
                f"expression nests deeper than {MAX_DEPTH} levels",
                "simplify it or split it into several rules",
            )

    def leave(self) -> None:
        self.depth -= 1

    @staticmethod
    def describe(token: _Token) -> str:
        if token.kind == "end":
            return "the end of the expression"
        if token.kind == "str":
            return token.text if len(token.text) <= 30 else token.text[:27] + "..."
        return _show(token.text)

    # -- grammar ---------------------------------------------------------------------------

    def parse(self) -> Node:
        self.tokenize()
        if self.at("end"):
            raise self.fail(
                0, "empty expression", "write a condition such as features.tenure_days >= 90"
            )
        tree = self.expr(0)
        token = self.peek()
        if token.kind != "end":
            if token.kind == "op" and token.text in ")]":
                opener = "(" if token.text == ")" else "["
                raise self.fail(
                    token.pos,
                    f"unmatched {_show(token.text)}",
                    f"remove it or add the missing {_show(opener)} before it",
                )
            raise self.unexpected(token)
        return tree

    def unexpected(self, token: _Token) -> ExpressionError:
        """The error for ``token`` following a complete operand where no operator fits."""
        if token.kind == "name" and token.text == "is":
            return self.fail(
                token.pos, "'is' is not supported", "write 'x == null', 'x != null' or is_null(x)"
            )
        if token.kind == "kw" and token.text == "not":
            return self.fail(
                token.pos,
                "'not' after a value must be followed by 'in'",
                "write 'x not in [...]', or put 'not' before the whole condition",
            )
        return self.fail(
            token.pos,
            f"unexpected {self.describe(token)} after a complete expression",
            "join the parts with 'and', 'or' or an operator",
        )

    def binary_op(self) -> str | None:
        """The binary operator at the current token (``not in`` spans two tokens), if any."""
        token = self.peek()
        if token.kind == "op":
            return token.text if token.text in _PRECEDENCE else None
        if token.kind == "kw":
            if token.text in ("or", "and", "in"):
                return token.text
            following = self.peek(1)
            if token.text == "not" and following.kind == "kw" and following.text == "in":
                return "not in"
        return None

    def take(self, op: str) -> _Token:
        token = self.advance()
        if op == "not in":
            self.advance()
        return token

    def operand(self, min_precedence: int, operator: _Token) -> Node:
        """A sub-expression nested one level deeper (the right side of ``operator``)."""
        self.enter(operator.pos)
        node = self.expr(min_precedence)
        self.leave()
        return node

    def expr(self, min_precedence: int) -> Node:
        """Precedence climbing: operators binding at least ``min_precedence``."""
        left = self.prefix(min_precedence)
        compared = False
        while (op := self.binary_op()) is not None:
            precedence = _PRECEDENCE[op]
            if precedence < min_precedence:
                break
            if precedence == _COMPARISON and compared:
                raise self.chained(left, op)
            token = self.take(op)
            compared = False
            if op in ("and", "or"):
                operands = [left, self.operand(precedence + 1, token)]
                while self.binary_op() == op:
                    token = self.take(op)
                    operands.append(self.operand(precedence + 1, token))
                left = BoolOp(op, tuple(operands), left.start, operands[-1].end)
            elif precedence == _COMPARISON:
                right = self.operand(precedence + 1, token)
                left = Compare(op, left, right, left.start, right.end)
                compared = True
            else:
                rest = [(op, self.operand(precedence + 1, token))]
                while (more := self.binary_op()) is not None and _PRECEDENCE[more] == precedence:
                    token = self.take(more)
                    rest.append((more, self.operand(precedence + 1, token)))
                left = Arith(left, tuple(rest), left.start, rest[-1][1].end)
        return left

    def chained(self, left: Node, op2: str) -> ExpressionError:
        """The error for ``a < b < c``, naming the fix with the operands as written."""
        assert isinstance(left, Compare)
        token = self.take(op2)
        third = self.operand(_COMPARISON + 1, token)
        a, b, c = (self.text(node) for node in (left.left, left.right, third))
        return self.fail(
            token.pos,
            f"chained comparison '{a} {left.op} {b} {op2} {c}'",
            f"write '{a} {left.op} {b} and {b} {op2} {c}'",
        )

    def prefix(self, min_precedence: int) -> Node:
        token = self.peek()
        if token.kind == "kw" and token.text == "not":
            if min_precedence > _NOT:
                raise self.missing_operand(token)
            self.advance()
            operand = self.operand(_NOT, token)
            return Not(operand, token.pos, operand.end)
        if token.kind == "op" and token.text == "-":
            self.advance()
            operand = self.operand(_NEGATE, token)
            return Neg(operand, token.pos, operand.end)
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token.kind in ("num", "str"):
            self.advance()
            return Literal(token.value, token.pos, token.end)
        if token.kind == "kw" and token.text in _LITERAL_KEYWORDS:
            self.advance()
            return Literal(_LITERAL_KEYWORDS[token.text], token.pos, token.end)
        if token.kind == "op" and token.text == "(":
            return self.parenthesised()
        if token.kind == "op" and token.text == "[":
            return self.list_literal()
        if token.kind == "name":
            following = self.peek(1)
            if following.kind == "op" and following.text == "(":
                return self.call()
            if following.kind == "op" and following.text == ".":
                return self.reference()
            raise self.bare_name(token)
        raise self.missing_operand(token)

    def missing_operand(self, token: _Token) -> ExpressionError:
        previous = self.tokens[self.index - 1] if self.index > 0 else None
        found = f", found {self.describe(token)}"
        if previous is None:
            return self.fail(
                token.pos,
                "expected an operand",
                "start with a value, a reference such as features.tenure_days, or '('",
                found,
            )
        shown = _show(previous.text)
        if token.kind == "kw" and token.text == "not":
            fix = f"put the negated condition in parentheses after {shown}: (not ...)"
        else:
            fix = f"write a value, a reference or a parenthesised expression after {shown}"
        return self.fail(previous.pos, f"expected an operand after {shown}", fix, found)

    def parenthesised(self) -> Node:
        opener = self.advance()
        self.enter(opener.pos)
        inner = self.expr(0)
        self.leave()
        if not self.at("op", ")"):
            raise self.not_closed(opener, ")", "expected ')'", "add ')' or an operator")
        self.advance()
        return inner

    def not_closed(self, opener: _Token, closer: str, problem: str, fix: str) -> ExpressionError:
        """The error when ``closer`` was expected for ``opener`` but something else came."""
        token = self.peek()
        if token.kind == "end":
            return self.fail(
                opener.pos, f"unclosed {_show(opener.text)}", f"add {_show(closer)} to close it"
            )
        if (token.kind, token.text) in (("kw", "not"), ("name", "is")):
            return self.unexpected(token)
        opened = _where(self.source, opener.pos)
        return self.fail(
            token.pos,
            problem,
            fix,
            f", found {self.describe(token)} (the {_show(opener.text)} is at {opened})",
        )

    def items(self, opener: _Token, closer: str, what: str) -> tuple[list[Node], _Token]:
        """Comma-separated expressions up to ``closer``; a trailing comma is allowed."""
        self.enter(opener.pos)
        items: list[Node] = []
        while not self.at("op", closer):
            items.append(self.expr(0))
            if self.at("op", ","):
                self.advance()
            elif not self.at("op", closer):
                raise self.not_closed(
                    opener,
                    closer,
                    f"expected ',' or {_show(closer)} in {what}",
                    f"separate the items with ',' and close {what} with {_show(closer)}",
                )
        end = self.advance()
        self.leave()
        return items, end

    def list_literal(self) -> Node:
        opener = self.advance()
        items, end = self.items(opener, "]", "the list")
        return ListNode(tuple(items), opener.pos, end.end)

    def call(self) -> Node:
        name = self.advance()
        if name.text not in FUNCTION_ARITY:
            suggestion = _suggest(name.text, tuple(FUNCTION_ARITY))
            hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
            raise self.fail(
                name.pos,
                f"function {_show(name.text)} is not allowed",
                f"use one of {_FUNCTION_LIST}{hint}",
            )
        opener = self.advance()
        args, end = self.items(opener, ")", f"the call to {name.text}()")
        fewest, most, example = FUNCTION_ARITY[name.text]
        if len(args) < fewest or (most is not None and len(args) > most):
            if most is None:
                wanted = f"at least {fewest} argument{'s' if fewest != 1 else ''}"
            elif fewest == most:
                wanted = f"{fewest} argument{'s' if fewest != 1 else ''}"
            else:
                wanted = f"{fewest} to {most} arguments"
            raise self.fail(
                name.pos,
                f"{name.text}() takes {wanted}, got {len(args)}",
                f"write it like {example}",
            )
        return Call(name.text, tuple(args), name.pos, end.end)

    def reference(self) -> Node:
        space = self.advance()
        self.advance()  # the dot
        name = self.peek()
        if name.kind not in ("name", "kw"):
            raise self.fail(
                name.pos,
                f"expected a name after '{space.text}.'",
                f"write a reference as namespace.name, e.g. {self.example(space.text)}",
                f", found {self.describe(name)}",
            )
        self.advance()
        dotted = f"{space.text}.{name.text}"
        if self.at("op", "."):
            extra = self.peek(1)
            more = f".{extra.text}" if extra.kind in ("name", "kw") else "."
            raise self.fail(
                space.pos,
                f"reference '{dotted}{more}' has more than two parts",
                f"references are namespace.name, e.g. {self.example(space.text)}",
            )
        if self.at("op", "("):
            raise self.fail(
                space.pos,
                f"calling '{dotted}' is not allowed",
                f"only these functions can be called: {_FUNCTION_LIST}",
            )
        self.check_reference(space, name)
        self.references.add(dotted)
        return Ref(space.text, name.text, space.pos, name.end)

    def example(self, namespace: str) -> str:
        names = self.namespaces.closed.get(namespace)
        if names:
            return f"{namespace}.{sorted(names)[0]}"
        if namespace in self.namespaces.closed or namespace in self.namespaces.open:
            return f"{namespace}.name"
        return "features.tenure_days"

    def check_reference(self, space: _Token, name: _Token) -> None:
        spaces = self.namespaces
        if space.text in spaces.closed:
            allowed = spaces.closed[space.text]
            if name.text in allowed:
                return
            suggestion = _suggest(name.text, allowed)
            if suggestion is not None:
                fix = f"did you mean '{suggestion}'?"
            elif allowed:
                fix = f"use one of {_one_of(allowed)}"
            else:
                fix = f"no {space.text} can be used here"
            raise self.fail(name.pos, f"unknown {_label(space.text)} {_show(name.text)}", fix)
        if space.text in spaces.open:
            return
        known = spaces.names
        suggestion = _suggest(space.text, known)
        hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
        fix = f"use one of {', '.join(known)}{hint}" if known else "no references can be used here"
        raise self.fail(space.pos, f"unknown namespace {_show(space.text)}", fix)

    def bare_name(self, token: _Token) -> ExpressionError:
        if token.text in _PYTHON_LITERALS:
            return self.fail(
                token.pos,
                f"unknown name {_show(token.text)}",
                f"write '{_PYTHON_LITERALS[token.text]}'",
            )
        if token.text in self.namespaces.names:
            return self.fail(
                token.end,
                f"expected '.name' after the namespace {_show(token.text)}",
                f"write a reference as namespace.name, e.g. {self.example(token.text)}",
            )
        homes = sorted(
            space for space, names in self.namespaces.closed.items() if token.text in names
        )
        if homes:
            fix = f"write it with its namespace: {homes[0]}.{token.text}"
        elif self.namespaces.open:
            space = sorted(self.namespaces.open)[0]
            fix = f"write references as namespace.name, e.g. {space}.{token.text}"
        else:
            fix = "write references as namespace.name, e.g. features.tenure_days"
        return self.fail(token.pos, f"name {_show(token.text)} has no namespace", fix)

    def text(self, node: Node) -> str:
        return self.source[node.start : node.end]


def parse(source: str, namespaces: Namespaces, *, field: str | None = "expression") -> Parsed:
    """Parse ``source`` into a syntax tree, checking every reference against ``namespaces``.

    Raises:
        ExpressionError: the source is too long, too deeply nested, not valid syntax, or names
            an unknown namespace, name or function.
    """
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"expression is {len(source)} characters long; the limit is {MAX_SOURCE_LENGTH}, "
            "so split it into several rules",
            position=MAX_SOURCE_LENGTH,
            source=source,
            field=field,
        )
    parser = _Parser(source, namespaces, field)
    try:
        tree = parser.parse()
    except RecursionError:  # pragma: no cover - the depth limit stops well before this
        raise parser.fail(
            0, "expression nests too deeply", "simplify it or split it into several rules"
        ) from None
    return Parsed(tree, frozenset(parser.references))
