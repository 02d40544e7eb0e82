"""The API's "not blank" patterns spell out the blank characters (sunshine/api/schemas.py BLANK):
exactly what Python's str.strip() removes, so a JSON Schema reader that takes ``\\s`` for
ECMAScript's smaller set (the fuzzer; a client's validator) agrees with the server on which text
is blank (docs/security.md, "Hostile input")."""

from __future__ import annotations

import re
import sys

import pytest

from sunshine.api.schemas import ADDRESS_PATTERN, BLANK, NON_BLANK

BLANKS = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]


def test_blank_is_exactly_what_strip_removes():
    one = re.compile(f"[{BLANK}]")
    assert [c for c in BLANKS if not one.fullmatch(c)] == []
    assert [hex(c) for c in range(sys.maxunicode + 1) if one.fullmatch(chr(c)) and not chr(c).isspace()] == []
    assert len(BLANKS) == 29


@pytest.mark.parametrize("text", ["\x1f", "\x1c\x1d", "\x85", "\u3000", " \t\n"])
def test_blank_text_does_not_match_non_blank(text):
    assert re.fullmatch(NON_BLANK, text) is None
    assert re.fullmatch(ADDRESS_PATTERN, f"{text}{text}{text}{text}{text}") is None


def test_text_with_a_visible_character_matches():
    assert re.fullmatch(NON_BLANK, "\x1f原因\x1f") is not None
    assert re.fullmatch(ADDRESS_PATTERN, "\u3000太原市晋源区晋祠路1号\u3000") is not None
