"""The search parser on its own: syntax trees and the positions of its errors."""

from __future__ import annotations

import pytest

from app.services.search import And, Not, Or, SearchError, Term, parse

FIELDS = ("title", "description", "tags", "status")


def term(value, **kw):
    return Term(value, **kw)


def strip(node):
    """The tree without term positions, for readable expectations."""
    if isinstance(node, Term):
        return Term(node.value, node.field, node.phrase, node.prefix)
    if isinstance(node, And | Or):
        return type(node)(tuple(strip(i) for i in node.items))
    if isinstance(node, Not):
        return Not(strip(node.item))
    return node


@pytest.mark.parametrize("query, tree", [
    ("authentication", term("authentication")),
    ("auth*", term("auth", prefix=True)),
    ('"user authentication"', term("user authentication", phrase=True)),
    ("auth* AND security", And((term("auth", prefix=True), term("security")))),
    ("auth security", And((term("auth"), term("security")))),
    ("a OR b c", Or((term("a"), And((term("b"), term("c")))))),
    ("NOT draft", Not(term("draft"))),
    ("a NOT b", And((term("a"), Not(term("b"))))),
    ("a AND NOT b", And((term("a"), Not(term("b"))))),
    ("(a OR b) c", And((Or((term("a"), term("b"))), term("c")))),
    ("title:auth", term("auth", field="title")),
    ('description:"rate limit"', term("rate limit", field="description", phrase=True)),
    ("TAGS:back*", term("back", field="tags", prefix=True)),
    ("status:pending", term("pending", field="status")),
    ("and or not", And((term("and"), term("or"), term("not")))),
    ("  spaced   out  ", And((term("spaced"), term("out")))),
])
def test_trees(query, tree):
    assert strip(parse(query, FIELDS)) == tree


def test_empty_query_is_no_filter():
    assert parse("", FIELDS) is None and parse("   ", FIELDS) is None and parse(None, FIELDS) \
        is None


@pytest.mark.parametrize("query, position, words", [
    ("auth AND", 8, "after AND"),
    ("OR auth", 0, "found 'OR'"),
    ('"unclosed phrase', 0, "unclosed quote"),
    ("(auth OR docs", 0, "missing ')'"),
    ("auth)", 4, "unexpected ')'"),
    ("auth ()", 6, "found ')'"),
    ("foo:bar", 0, "unknown field 'foo'"),
    ("x title:", 2, "needs a value"),
    ("au*th", 2, "'*' is only allowed at the end"),
    ("*", 0, "empty search term"),
    ("NOT", 3, "the end of the query"),
    ('""', 0, "empty search term"),
    ("(" * 11 + "a" + ")" * 11, 10, "nested deeper"),
])
def test_errors_say_where(query, position, words):
    with pytest.raises(SearchError) as info:
        parse(query, FIELDS)
    details = info.value.details
    assert details["field"] == "search" and details["position"] == position, details
    assert words in details["issue"]
    assert info.value.code == "VALIDATION_INVALID_FORMAT" and info.value.status == 422


def test_limits():
    with pytest.raises(SearchError, match="at most 500 characters"):
        parse("a" * 501, FIELDS)
    with pytest.raises(SearchError, match="at most 30 search terms"):
        parse(" ".join(f"w{i}" for i in range(31)), FIELDS)
