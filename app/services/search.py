"""The `search` parameter: a small recursive-descent parser that produces SQL, never Python-side
filtering.

Syntax (README):
    authentication            a word, matched as a whole word, any case
    auth*                     a word that starts with "auth"
    "user authentication"     an exact phrase (words in this order, next to each other)
    auth* AND security        both (AND may be left out: `auth security` is the same)
    auth OR login             either
    NOT draft                 without it (also `auth NOT draft`, `auth AND NOT draft`)
    (auth OR login) security  parentheses group
    title:auth  description:"rate limit"  tags:backend  status:pending   one field only

AND binds tighter than OR; NOT binds tightest. The operators are upper case (a lower-case
`and` is just a word). At most MAX_TERMS terms, and NOT and parentheses nested at most
MAX_DEPTH levels together (`NOT NOT x` is two levels, `NOT (a OR b)` two). Words are runs of
letters and digits; anything else separates them, in the text and in the query, so
`user-auth` finds "user auth" and "user_auth" (a phrase's words may be separated by spaces or
punctuation). Without a field, a term matches the title, the description or a tag (the whole
tag; `sec*`: a tag starting with "sec"). A malformed query is a 422 VALIDATION_INVALID_FORMAT
whose details give the `position` (0-based) where it failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, not_, or_

from app.errors import AppError

MAX_LENGTH = 500
MAX_TERMS = 30
MAX_DEPTH = 10
OPERATORS = ("AND", "OR", "NOT")
_WORD_CHARS = re.compile(r"[^\s()\"]+")


class SearchError(AppError):
    def __init__(self, issue: str, position: int) -> None:
        super().__init__("VALIDATION_INVALID_FORMAT", f"Invalid search query: {issue} "
                         f"(at position {position})",
                         {"field": "search", "issue": issue, "position": position})


# ---------------------------------------------------------------- syntax tree

@dataclass(frozen=True)
class Term:
    value: str
    field: str | None = None
    phrase: bool = False
    prefix: bool = False
    position: int = 0


@dataclass(frozen=True)
class And:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass
class Token:
    kind: str  # WORD | PHRASE | AND | OR | NOT | LPAREN | RPAREN | END
    text: str
    position: int
    field: str | None = None
    field_position: int = 0


# ---------------------------------------------------------------- tokenizer

def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token("LPAREN" if ch == "(" else "RPAREN", ch, i))
            i += 1
        elif ch == '"':
            value, i = _phrase(text, i)
            tokens.append(Token("PHRASE", value, i - len(value) - 2))
        else:
            match = _WORD_CHARS.match(text, i)
            word, start, i = match.group(), i, match.end()
            if word in OPERATORS:
                tokens.append(Token(word, word, start))
                continue
            name, colon, rest = word.partition(":")
            if colon and name and re.fullmatch(r"[A-Za-z_]+", name):
                if not rest and i < n and text[i] == '"':
                    value, i = _phrase(text, i)
                    tokens.append(Token("PHRASE", value, start + len(name) + 1, name.lower(),
                                        start))
                    continue
                if not rest:
                    raise SearchError(f"'{name}:' needs a value", start)
                tokens.append(Token("WORD", rest, start + len(name) + 1, name.lower(), start))
            else:
                tokens.append(Token("WORD", word, start))
    tokens.append(Token("END", "", n))
    return tokens


def _phrase(text: str, start: int) -> tuple[str, int]:
    end = text.find('"', start + 1)
    if end < 0:
        raise SearchError("unclosed quote", start)
    return text[start + 1:end], end + 1


# ---------------------------------------------------------------- parser

class Parser:
    """query := or ; or := and (OR and)* ; and := unary ([AND] unary)* ;
    unary := NOT unary | primary ; primary := '(' or ')' | term"""

    def __init__(self, text: str, fields: tuple[str, ...]) -> None:
        self.tokens = tokenize(text)
        self.fields = fields
        self.index = 0
        self.depth = 0
        self.terms = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Any:
        node = self.parse_or()
        if self.token.kind == "RPAREN":
            raise SearchError("unexpected ')'", self.token.position)
        if self.token.kind != "END":  # pragma: no cover - every other token starts a unary
            raise SearchError(f"unexpected {self.token.text!r}", self.token.position)
        return node

    def parse_or(self) -> Any:
        items = [self.parse_and()]
        while self.token.kind == "OR":
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Any:
        items = [self.parse_unary()]
        while self.token.kind in ("AND", "NOT", "WORD", "PHRASE", "LPAREN"):
            if self.token.kind == "AND":
                self.advance()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def nest(self, token: Token) -> None:
        """One level deeper: a NOT or a '('. Both nest the SQL too, and SQLite's parser gives
        up ("parser stack overflow", once a 503) some levels past what a person writes."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SearchError(f"NOT and parentheses nested deeper than {MAX_DEPTH} levels",
                              token.position)

    def parse_unary(self) -> Any:
        if self.token.kind == "NOT":
            self.nest(self.advance())
            node = Not(self.parse_unary())
            self.depth -= 1
            return node
        return self.parse_primary()

    def parse_primary(self) -> Any:
        token = self.token
        if token.kind == "LPAREN":
            self.nest(token)
            self.advance()
            node = self.parse_or()
            if self.token.kind != "RPAREN":
                raise SearchError("missing ')' for this '('", token.position)
            self.advance()
            self.depth -= 1
            return node
        if token.kind in ("WORD", "PHRASE"):
            self.advance()
            return self.term(token)
        previous = self.tokens[self.index - 1].text if self.index else None
        found = "the end of the query" if token.kind == "END" else repr(token.text)
        after = f" after {previous}" if previous in OPERATORS or previous == "(" else ""
        raise SearchError(f"expected a search term{after}, found {found}", token.position)

    def term(self, token: Token) -> Term:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise SearchError(f"at most {MAX_TERMS} search terms", token.position)
        if token.field is not None and token.field not in self.fields:
            raise SearchError(f"unknown field '{token.field}' (one of {', '.join(self.fields)})",
                              token.field_position)
        value, prefix = token.text, False
        if token.kind == "WORD":
            star = value.find("*")
            if star >= 0 and star != len(value) - 1:
                raise SearchError("'*' is only allowed at the end of a word",
                                  token.position + star)
            prefix = star >= 0
            value = value.rstrip("*")
        if not words_of(value) and not (token.field in ("status", "tags") and value):
            raise SearchError("empty search term", token.position)
        return Term(value, token.field, token.kind == "PHRASE", prefix, token.position)


def parse(text: str | None, fields: tuple[str, ...]) -> Any | None:
    """The syntax tree of a query, or None for an empty one."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_LENGTH:
        raise SearchError(f"at most {MAX_LENGTH} characters", MAX_LENGTH)
    if "\x00" in text:
        raise SearchError("NUL characters are not allowed", text.index("\x00"))
    return Parser(text, fields).parse()


# ---------------------------------------------------------------- SQL

_WORD = re.compile(r"[^\W_]+")


def words_of(value: str) -> list[str]:
    """The words of a query value: runs of letters and digits, lower-cased."""
    return _WORD.findall(value.lower())


def _dialect() -> str:
    from app.extensions import db

    return db.session.get_bind().dialect.name


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _escape_glob(value: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in value)


_BOUNDARY = "[^a-z0-9]"


def text_match(column: Any, term: Term) -> ColumnElement:
    """A whole-word / prefix / phrase match on one text column, case-insensitive.

    A plain substring test on each word runs first (cheap), then the word-boundary test:
    a regular expression on PostgreSQL, GLOB with character classes on SQLite (whose text is
    first squeezed so that ", " or a line break between two words reads as one separator).
    """
    words = words_of(term.value)
    lowered = func.lower(func.coalesce(column, ""))
    prefilter = [lowered.like(f"%{escape_like(w)}%", escape="\\") for w in words]
    if _dialect() == "postgresql":
        pattern = ("(^|[^a-z0-9])" + "[^a-z0-9]+".join(re.escape(w) for w in words)
                   + ("" if term.prefix else "([^a-z0-9]|$)"))
        return and_(*prefilter, lowered.regexp_match(pattern))
    squeezed = lowered
    for ch in ("\n", "\r", "\t", ",", ".", ";", ":"):
        squeezed = func.replace(squeezed, ch, " ")
    for _ in range(2):
        squeezed = func.replace(squeezed, "  ", " ")
    padded = literal(" ") + squeezed + literal(" ")
    pattern = ("*" + _BOUNDARY + _BOUNDARY.join(_escape_glob(w) for w in words)
               + ("*" if term.prefix else _BOUNDARY + "*"))
    return and_(*prefilter, padded.op("GLOB")(pattern))


FieldSQL = Callable[[Term], ColumnElement]


def to_sql(node: Any, fields: dict[str, FieldSQL], default: tuple[str, ...]) -> ColumnElement:
    """Compile a syntax tree; terms without a field match any of the `default` fields."""
    if isinstance(node, And):
        return and_(*(to_sql(i, fields, default) for i in node.items))
    if isinstance(node, Or):
        return or_(*(to_sql(i, fields, default) for i in node.items))
    if isinstance(node, Not):
        return not_(to_sql(node.item, fields, default))
    if node.field is not None:
        return fields[node.field](node)
    return or_(*(fields[name](node) for name in default))


def compile_search(text: str | None, fields: dict[str, FieldSQL],
                   default: tuple[str, ...]) -> ColumnElement | None:
    """Parse and compile in one step; None when the query is empty."""
    tree = parse(text, tuple(fields))
    return None if tree is None else to_sql(tree, fields, default)
