"""Keyword rules (data/rules.yaml): the evaluation baseline and the weak labeller."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from pipeline.config import InputError, read_yaml
from pipeline.signals import SIGNALS


def load_rules(path: Path) -> dict[str, dict[str, re.Pattern]]:
    """{signal: {rule name: compiled pattern}}; every signal needs at least one rule."""
    tree = read_yaml(path, "rules")
    if not isinstance(tree, dict) or not isinstance(tree.get("rules"), dict):
        raise InputError(path, "expected a top-level 'rules' mapping of signal -> {name: pattern}")
    rules: dict[str, dict[str, re.Pattern]] = {}
    for signal, entries in tree["rules"].items():
        if signal not in SIGNALS:
            raise InputError(path, f"unknown signal '{signal}' (known: {', '.join(SIGNALS)})")
        if not isinstance(entries, dict) or not entries:
            raise InputError(path, f"signal '{signal}' needs a mapping of rule name -> pattern")
        rules[signal] = {}
        for name, pattern in entries.items():
            if not isinstance(pattern, str) or not pattern.strip():  # None would become the regex 'None'
                raise InputError(path, f"rule '{signal}.{name}' must be a non-empty regex string, got {pattern!r}")
            try:
                rules[signal][name] = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise InputError(path, f"rule '{signal}.{name}' is not a valid regex ({exc})") from exc
            if rules[signal][name].search(""):
                raise InputError(path, f"rule '{signal}.{name}' ({pattern!r}) matches empty text, so every paragraph")
    missing = [s for s in SIGNALS if s not in rules]
    if missing:
        raise InputError(path, f"no rules for signal '{missing[0]}'")
    return rules


def matches(rules: dict[str, dict[str, re.Pattern]], texts: pd.Series) -> pd.DataFrame:
    """One boolean column per rule, named 'signal.rule'."""
    return pd.DataFrame({f"{signal}.{name}": texts.str.contains(pattern).to_numpy()
                         for signal, named in rules.items() for name, pattern in named.items()})


def apply(rules: dict[str, dict[str, re.Pattern]], texts: pd.Series) -> pd.DataFrame:
    """0/1 per signal: a signal fires when any of its rules matches."""
    hits = matches(rules, texts)
    return pd.DataFrame({s: hits[[c for c in hits if c.startswith(s + ".")]].any(axis=1).astype("int8")
                         for s in SIGNALS})


def report(rules: dict[str, dict[str, re.Pattern]], texts: pd.Series, gold: pd.DataFrame) -> dict:
    """Per rule: coverage, overlaps with the signal's other rules, conflicts with gold, accuracy."""
    hits = matches(rules, texts)
    out = {}
    for column in hits:
        signal = column.split(".", 1)[0]
        fired = hits[column].to_numpy()
        others = hits[[c for c in hits if c.startswith(signal + ".") and c != column]].any(axis=1).to_numpy()
        truth = gold[signal].to_numpy()
        correct = int((fired & (truth == 1)).sum())
        out[column] = {
            "coverage": round(float(fired.mean()), 4),
            "fired": int(fired.sum()),
            "overlaps": int((fired & others).sum()),
            "conflicts": int((fired & (truth == 0)).sum()),
            "accuracy": round(correct / fired.sum(), 4) if fired.any() else None,
        }
    return out
