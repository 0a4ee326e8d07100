"""Fingerprints and classification read a bounded part of a message, with patterns that cannot backtrack."""

import re
from re import _constants as sre_constants
from re import _parser as sre_parse

import pytest

from opsview.queues import classify as classify_module
from opsview.queues.classify import MESSAGE_SCAN_CHARS, NORMALIZING_PATTERNS, classify, normalize_message

# The normalisation fingerprints were made with before it was bounded: its results on real messages
# must not change, or new failures would stop joining the groups already open.
_OLD = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b", re.I), "<id>"),
    (re.compile(r"""(['"‘“«])[^'"’”»]*\d[^'"’”»]*(['"’”»])"""), r"\1<id>\2"),
    (re.compile(r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b"), "<n>"),
    (re.compile(r"[\w./#-]*\d[\w./#-]*"), "<n>"),
]


def old_normalize(message):
    text = message
    for pattern, placeholder in _OLD:
        text = pattern.sub(placeholder, text)
    return re.sub(r"\s+", " ", text).strip().rstrip(".")[:500]


REAL_MESSAGES = [
    "Posting period 2026-10 is closed",
    "Northwind: posting period 2026-10 is closed (entry TE-1)",
    "Invoice INV-2026-0042 for ada@example.com: amount 1,250.00 exceeds 1000.",
    "Record 3f2b9c1e-8d4a-4c2b-9f1e-2a7b6c5d4e3f failed (ref 0x9fa3bc21d4e5)",
    "Entry 'TE-4411' rejected",
    "Service unavailable (request 00000010)",
    "Unknown project code 'NW-PRJ-7' for customer \"C-19\"",
    "Tax code «RC-EU» missing; contact billing+ops@north.example.co.uk.",
    "HTTP 503 from https://erp.example.com/api/v2/moves?id=77#frag",
    "account 4000.10 is blocked for fiscal year 2026 by user j.doe@firm.io",
    "Amount 1,234,567.891 differs from 1,234,567.89 by 0.001",
    "Customer 'ACME Corp' not found",
    "    lots   of    spaces\tand\nlines 12 ",
    "Employee id emp_00af3 does not exist",
]


@pytest.mark.parametrize("message", REAL_MESSAGES)
def test_real_messages_normalise_as_before(message):
    assert normalize_message(message) == old_normalize(message)


@pytest.mark.parametrize(
    "long_word",
    [
        "x" * 4000,
        "a." * 2000,  # a word boundary at every character
        "a1" * 2000,
        "project." * 500 + "x missing",
        "‘" * 4000,
        "deadbeef" * 500,
        "1,234" * 800,
    ],
    ids=["letters", "dotted", "digits", "mapping-words", "quotes", "hex", "grouped"],
)
def test_a_long_message_is_read_up_to_the_documented_length_only(long_word):
    """Whatever follows the first MESSAGE_SCAN_CHARS characters changes neither the fingerprint nor the kind,
    so the work per message is bounded by that length, not by what a sender puts in."""
    cut = long_word[:MESSAGE_SCAN_CHARS]
    assert normalize_message(long_word) == normalize_message(cut)
    assert normalize_message(long_word + " and 99 more") == normalize_message(cut)
    assert classify("", long_word + " timeout") == classify("", cut)


def _repeats(items, inside_unbounded=False, found=None):
    """Every problem in a parsed pattern: an unbounded, backtracking repeat nested in another one."""
    found = [] if found is None else found
    for op, arg in items:
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, high, body = arg
            unbounded = high == sre_constants.MAXREPEAT
            if unbounded and inside_unbounded:
                found.append(f"nested backtracking repeat {list(body)!r}")
            _repeats(body, inside_unbounded or unbounded, found)
        elif op == sre_constants.POSSESSIVE_REPEAT:
            _repeats(arg[2], False, found)  # gives nothing back: what it holds cannot multiply the work
        elif op == sre_constants.ATOMIC_GROUP:
            _repeats(arg, False, found)
        elif op == sre_constants.SUBPATTERN:
            _repeats(arg[-1], inside_unbounded, found)
        elif op == sre_constants.BRANCH:
            for branch in arg[1]:
                _repeats(branch, inside_unbounded, found)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            _repeats(arg[1], inside_unbounded, found)
    return found


def _starts_with_a_greedy_run(items):
    """True when a pattern can start anywhere inside a run and scan the rest of it from each position."""
    op, arg = items[0]
    return op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and arg[1] == sre_constants.MAXREPEAT


def backtracking_problems(pattern):
    parsed = list(sre_parse.parse(pattern.pattern, pattern.flags))
    problems = _repeats(parsed)
    if _starts_with_a_greedy_run(parsed):
        problems.append("starts with a backtracking run: every position inside a long word is a new start")
    return problems


def test_the_checker_catches_the_patterns_that_made_long_messages_slow():
    assert backtracking_problems(re.compile(r"[\w./#-]*\d[\w./#-]*"))
    assert backtracking_problems(re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"))
    assert not backtracking_problems(re.compile(r"[\w./#-]++"))


def test_no_pattern_behind_fingerprints_or_classification_can_backtrack_over_a_message():
    patterns = list(NORMALIZING_PATTERNS) + [
        value for name, value in vars(classify_module).items() if isinstance(value, re.Pattern) and name.startswith("_")
    ]
    patterns += [pattern for _, pattern in classify_module._MAPPING_PATTERNS]
    problems = {p.pattern[:60]: backtracking_problems(p) for p in patterns if backtracking_problems(p)}
    assert problems == {}
