"""Label phrases for a schema field: its name, title and description, widened by synonyms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from worker.pipeline.extract.config import LocalConfig

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_QUOTED = re.compile(r"[\"“'‘]([^\"”'’]{2,40})[\"”'’]")
_GENERIC = {"value", "field"}


@dataclass(frozen=True)
class Alias:
    tokens: tuple[str, ...]
    weight: float
    concept: str | None


def split_name(name: str) -> list[str]:
    """`totalDue`, `total_due`, `Total-Due` → ["total", "due"]."""
    spaced = _CAMEL.sub(" ", name).replace("_", " ").replace("-", " ").replace(".", " ")
    return [word.lower() for word in spaced.split() if word]


def normalise_token(text: str, config: LocalConfig) -> str:
    """A word as labels compare it: lower case, edge punctuation off, abbreviations expanded."""
    token = text.lower().strip()
    if token in config.token_equivalents:
        return config.token_equivalents[token]
    token = token.strip(".:;,()[]*")
    if token.startswith("#") and len(token) > 1 and not token[1:].isdigit():
        token = token[1:]
    return config.token_equivalents.get(token, token)


def phrase_tokens(phrase: str, config: LocalConfig) -> tuple[str, ...]:
    words = re.findall(r"[#°\w]+(?:-\w+)*|#", phrase.replace("/", " "))
    return tuple(t for t in (normalise_token(w, config) for w in words) if t)


def field_aliases(name: str, spec: dict[str, Any], config: LocalConfig) -> list[Alias]:
    """Every phrase the field may be labelled with, best first, each with its trust (0–1)."""
    found: dict[tuple[str, ...], Alias] = {}

    def add(phrase: str, weight: float, concept: str | None = None) -> None:
        tokens = tuple(t for t in phrase_tokens(phrase, config) if t not in _GENERIC)
        if tokens and (tokens not in found or found[tokens].weight < weight):
            found[tokens] = Alias(tokens, weight, concept)

    own = " ".join(split_name(name))
    for phrase in config.field_aliases.get(name, []):
        add(phrase, 1.0)
    add(own, 1.0, concept_of(own, config))
    title = str(spec.get("title") or "")
    if title:
        add(title, 1.0, concept_of(title, config))
    description = str(spec.get("description") or "")
    for quoted in _QUOTED.findall(description):
        add(quoted, 0.95)
    for phrase in (own, title):
        concept = concept_of(phrase, config)
        if concept:
            for synonym in config.synonyms[concept]:
                add(synonym, 0.9, concept)
    for concept in concepts_in(description, config):
        for synonym in config.synonyms[concept]:
            add(synonym, 0.75, concept)
    return sorted(found.values(), key=lambda a: (-a.weight, -len(a.tokens)))


def concept_of(phrase: str, config: LocalConfig) -> str | None:
    """The synonym group a field's own name or title belongs to, if any."""
    tokens = phrase_tokens(phrase, config)
    if not tokens:
        return None
    table = _synonym_table(config)
    for concept, (name, _) in table.items():
        if tokens == name:
            return concept
    for concept, (_, phrases) in table.items():
        if tokens in phrases:
            return concept
    return None


def concepts_in(text: str, config: LocalConfig) -> list[str]:
    """Concepts whose multi-word phrases occur in free text (a field's description)."""
    words = " " + " ".join(phrase_tokens(text, config)) + " "
    return [concept for concept, (_, phrases) in _synonym_table(config).items()
            if any(len(p) > 1 and f" {' '.join(p)} " in words for p in phrases)]


def _synonym_table(config: LocalConfig) -> dict[str, tuple[tuple[str, ...], list[tuple[str, ...]]]]:
    """Per concept: its own name and its synonym phrases as tokens, computed once per config
    (labels are compared for every cell of every page)."""
    cached = _TABLES.get(id(config))
    if cached is None or cached[0] is not config:
        table = {concept: (phrase_tokens(concept.replace("_", " "), config),
                           [phrase_tokens(p, config) for p in phrases])
                 for concept, phrases in config.synonyms.items()}
        if len(_TABLES) > 64:  # trained configs come and go in a long-lived worker
            _TABLES.clear()
        cached = _TABLES[id(config)] = (config, table)
    return cached[1]


_TABLES: dict[int, tuple[LocalConfig, dict[str, tuple[tuple[str, ...], list[tuple[str, ...]]]]]] = {}


def known_label_phrases(config: LocalConfig) -> set[tuple[str, ...]]:
    """Every synonym phrase as tokens: text that is itself a label is never a value."""
    cached = _KNOWN.get(id(config))
    if cached is None or cached[0] is not config:
        phrases = {phrase_tokens(p, config) for group in config.synonyms.values() for p in group}
        cached = _KNOWN[id(config)] = (config, phrases)
    return cached[1]


_KNOWN: dict[int, tuple[LocalConfig, set[tuple[str, ...]]]] = {}
