"""The entities analysts follow (entities.yaml, beside this module) and the matcher that finds them in paragraphs.

One Aho-Corasick automaton (pyahocorasick) finds every alias in one pass; matches are kept only
at word boundaries (for Latin script), overlapping matches resolve leftmost-longest, and listed
near misses ("India's Ministry of Commerce") block the aliases they contain.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

from pipeline.config import InputError

# Package data, so every install, Dask worker and the code MLflow logs with the model carry it.
DEFAULT = Path(__file__).resolve().with_name("entities.yaml")
ENV = "POLICY_SIGNALS_ENTITIES"  # another entities file (workers of a remote Dask cluster read it too)
TYPES = ("group", "company", "agency")
KEYS = {"type", "parent", "aliases", "exact", "exclude"}
SEPARATOR = "; "  # how a paragraph's entity names are joined in the `entities` column
_DASHES = "-\u2010\u2011\u2012\u2013"


def _undashed(text: str) -> str:
    """Dashes as spaces (str.replace: a fast scan when absent, unlike a regex or str.translate)."""
    for dash in _DASHES:
        text = text.replace(dash, " ")
    return text


def _fold(text: str, lower: bool) -> str:
    """Dashes as spaces and, when `lower`, lower case, keeping every character's position."""
    text = _undashed(text)
    return _lowered(text) if lower else text


def _lowered(text: str) -> str:
    """Lower case, keeping every character's position."""
    folded = text.lower()
    return folded if len(folded) == len(text) else "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _latin(char: str) -> bool:
    """A letter or digit of an alphabetic script (where words need boundaries): below the CJK blocks
    (U+2E80 on), or a full-width letter or digit; Chinese, Japanese and Korean text has no word boundaries."""
    return char.isalnum() and (ord(char) < 0x2E80 or 0xFF10 <= ord(char) <= 0xFF5A)


class Matcher:
    """Finds the entities named in a text, by display name, in order of first mention."""

    def __init__(self, entities: dict[str, dict], source: str | os.PathLike = "entities"):
        import ahocorasick

        self.entities = entities
        # One automaton over lower-cased text; a case-sensitive alias ("MOFCOM") is checked against the text
        # as written when it matches. Value: (length, [(exact spelling or None, entity or None for a near miss)]).
        self.automaton = ahocorasick.Automaton()
        owner: dict[tuple[bool, str], str | None] = {}
        candidates: dict[str, list] = {}
        for name, entry in entities.items():
            patterns = [(not a.isupper(), a, name) for a in entry.get("aliases", [])]
            patterns += [(False, a, name) for a in entry.get("exact", [])]
            patterns += [(True, a, None) for a in entry.get("exclude", [])]
            for lower, alias, target in patterns:
                key = (lower, _fold(alias, lower))
                if key in owner and owner[key] != target:
                    raise InputError(source,
                                     f"alias '{alias}' names both '{owner[key]}' and '{target}'")
                owner[key] = target
                candidates.setdefault(_lowered(key[1]), []).append((None if lower else key[1], target))
        for key, found in candidates.items():
            self.automaton.add_word(key, (len(key), found))
        self.automaton.make_automaton()

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, entity) of every mention, leftmost-longest, near misses removed."""
        if len(self.automaton) == 0:
            return []
        found, undashed = [], _undashed(text)
        for end, (length, options) in self.automaton.iter(_lowered(undashed)):
            start, end = end - length + 1, end + 1
            if (_latin(text[start]) and start > 0 and _latin(text[start - 1])) or \
                    (_latin(text[end - 1]) and end < len(text) and _latin(text[end])):
                continue
            found.extend((start, end, target) for exact, target in options
                         if exact is None or undashed[start:end] == exact)
        found.sort(key=lambda m: (m[0], m[0] - m[1]))
        kept, covered = [], 0
        for start, end, target in found:
            if start >= covered:
                covered = end
                if target is not None:
                    kept.append((start, end, target))
        return kept

    def find(self, text: str) -> list[str]:
        """The entities a text names, each once, in order of first mention."""
        return list(dict.fromkeys(target for _, _, target in self.spans(text)))

    def ancestors(self, name: str) -> list[str]:
        """The groups an entity belongs to, nearest first."""
        chain, parent = [], self.entities[name].get("parent")
        while parent:
            chain.append(parent)
            parent = self.entities[parent].get("parent")
        return chain


def _strings(value, path, name: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(path, f"entity '{name}': '{key}' must be a list of non-empty names")
    return [v.strip() for v in value]


def parse(tree, path) -> dict[str, dict]:
    """Validate the entities mapping; every problem names the entity and the key."""
    if not isinstance(tree, dict) or not tree:
        raise InputError(path, "must map entity names to their type, parent and aliases")
    entities = {}
    for name, entry in tree.items():
        if not isinstance(entry, dict):
            raise InputError(path, f"entity '{name}' must be a mapping")
        unknown = set(entry) - KEYS
        if unknown:
            raise InputError(path, f"entity '{name}': unknown key '{sorted(unknown)[0]}'")
        if entry.get("type") not in TYPES:
            raise InputError(path, f"entity '{name}': type must be one of {', '.join(TYPES)}")
        clean = {"type": entry["type"], **{k: _strings(entry.get(k), path, name, k) for k in ("aliases", "exact", "exclude")}}
        if not clean["aliases"] and not clean["exact"]:
            raise InputError(path, f"entity '{name}' has no aliases")
        if entry.get("parent") is not None:
            clean["parent"] = str(entry["parent"])
        entities[str(name)] = clean
    for name, entry in entities.items():
        seen, parent = {name}, entry.get("parent")
        while parent:
            if parent not in entities:
                raise InputError(path, f"entity '{name}': parent '{parent}' is not an entity")
            if parent in seen:
                raise InputError(path, f"entity '{name}': parent links form a cycle")
            seen.add(parent)
            parent = entities[parent].get("parent")
    return entities


def load(path: str | os.PathLike) -> Matcher:
    """A matcher for an entities file; a bad file is one InputError naming it."""
    try:
        # libyaml's safe loader where PyYAML has it: a third of the time, and every `score` run reads this file
        tree = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(path, f"cannot read entities ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
    return Matcher(parse(tree, path), path)


@lru_cache(maxsize=4)
def _cached(path: str) -> Matcher:
    return load(path)


def default() -> Matcher:
    """The project's entities (or the file named by POLICY_SIGNALS_ENTITIES), loaded once per process."""
    return _cached(os.environ.get(ENV) or str(DEFAULT))


def names(column) -> list[list[str]]:
    """An `entities` column (names joined by '; ') back into lists."""
    return [value.split(SEPARATOR) if isinstance(value, str) and value else [] for value in column]
