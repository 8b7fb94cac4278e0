"""Bilingual text: every learner-facing sentence exists in Korean and English."""

from __future__ import annotations

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
