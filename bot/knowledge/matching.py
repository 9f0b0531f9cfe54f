"""Finding defined terms and discoverable tags in text, words and phrases matched as the filters
match them (whole words, case and punctuation ignored); and the closest terms to a misspelt one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from bot.config.filters import tokens
from bot.knowledge.facts import Term


def _padded(text: str) -> str:
    return f" {' '.join(tokens(text))} "


def mentions(text: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `text` as whole words ("Data-Breach!" mentions "data breach")."""
    needle = _padded(phrase)
    return needle.strip() != "" and needle in _padded(text)


def terms_in(terms: Iterable[Term], text: str) -> list[Term]:
    """The terms `text` uses (by their name or a synonym), each once, in the order given."""
    haystack = _padded(text)
    found: dict[str, Term] = {}
    for term in terms:
        key = " ".join(tokens(term.term))
        if key in found:
            continue
        if any(f" {' '.join(tokens(spelling))} " in haystack for spelling in term.spellings):
            found[key] = term
    return list(found.values())


def lookup(terms: Iterable[Term], asked: str) -> Term | None:
    """The term written `asked` (its name or a synonym, case and punctuation ignored), or None."""
    wanted = " ".join(tokens(asked))
    if not wanted:
        return None
    return next((term for term in terms if any(" ".join(tokens(s)) == wanted for s in term.spellings)), None)


def closest(terms: Sequence[Term], asked: str, limit: int = 3) -> list[str]:
    """The names of up to `limit` terms spelt most like `asked` (its synonyms count too)."""
    by_spelling: dict[str, str] = {}
    for term in terms:
        for spelling in term.spellings:
            by_spelling.setdefault(" ".join(tokens(spelling)), term.term)
    wanted = " ".join(tokens(asked))
    near = difflib.get_close_matches(wanted, list(by_spelling), n=limit * 2, cutoff=0.6)
    return list(dict.fromkeys(by_spelling[spelling] for spelling in near))[:limit]
