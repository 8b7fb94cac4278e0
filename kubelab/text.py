"""Bilingual text: every learner-facing sentence exists in Korean and English."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Lang = Literal["ko", "en"]
LANGS: tuple[Lang, ...] = ("ko", "en")


@dataclass(frozen=True)
class Text:
    """One sentence in both languages."""

    ko: str
    """Korean, shown first (the course's language)."""
    en: str
    """English, shown beside it."""

    def pick(self, lang: Lang) -> str:
        """The sentence in one language."""
        return self.ko if lang == "ko" else self.en

    def both(self, lang: Lang = "ko") -> str:
        """Both languages, the chosen one first, joined by ' / '."""
        first, second = (self.ko, self.en) if lang == "ko" else (self.en, self.ko)
        return first if first == second else f"{first} / {second}"

    def format(self, **values: object) -> Text:
        """Fill {placeholders} in both languages."""
        return Text(self.ko.format(**values), self.en.format(**values))


def parse_lang(value: str) -> Lang:
    """Accept 'ko' or 'en' (any case); anything else is the caller's mistake."""
    lowered = value.lower()
    if lowered == "ko":
        return "ko"
    if lowered == "en":
        return "en"
    raise ValueError(f"language must be ko or en, not {value!r}")


_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
"""What a terminal, a spreadsheet or an editor would act on rather than show: C0 and C1
control characters (ESC starts a terminal's escape sequence; CSI is 0x9b), DEL, line
separators and the bidirectional controls that reorder what a reader sees; and what no
XML file may hold (lone surrogates, U+FFFE, U+FFFF: a JUnit file with one is unreadable)."""
_KEPT_IN_BLOCKS = frozenset("\n\t")


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, block: bool = False) -> str:
    """`text` as it may be shown to a person: every control character written out as an
    escape (ESC as `\\x1b`), so nothing a student wrote can move a cursor, clear a screen
    or reorder a line. `block` keeps newlines and tabs (a message of several lines);
    otherwise the text stays one line."""

    def one(match: re.Match[str]) -> str:
        char = match.group()
        return char if block and char in _KEPT_IN_BLOCKS else _escaped(char)

    return _UNSAFE.sub(one, text)
