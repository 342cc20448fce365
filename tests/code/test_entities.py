"""The entity matcher on labelled sentences (near misses included), and the entities file's checks."""
from pathlib import Path

import pytest
import yaml

from pipeline.config import InputError
from pipeline.reporting import entities

SENTENCES = yaml.safe_load((Path(__file__).with_name("entity_sentences.yaml")).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def matcher():
    return entities.load(entities.DEFAULT)


def test_precision_and_recall_on_labelled_sentences(matcher):
    found = [(i, e) for i, s in enumerate(SENTENCES) for e in matcher.find(s["text"])]
    gold = [(i, e) for i, s in enumerate(SENTENCES) for e in s["entities"]]
    hits = len(set(found) & set(gold))
    precision, recall = hits / len(found), hits / len(gold)
    misses = sorted(set(gold) - set(found)) + sorted(set(found) - set(gold))
    print(f"entity matcher on {len(SENTENCES)} sentences: precision {precision:.3f}, recall {recall:.3f}; wrong: "
          + "; ".join(f"{SENTENCES[i]['text'][:50]!r} {e}" for i, e in misses))
    assert len(gold) >= 60 and sum(bool(s.get("near_miss")) for s in SENTENCES) >= 15
    assert precision >= 0.95 and recall >= 0.95, misses


def test_every_near_miss_names_only_its_labelled_entities(matcher):
    for sentence in (s for s in SENTENCES if s.get("near_miss") and not s.get("known_miss")):
        assert matcher.find(sentence["text"]) == sentence["entities"], sentence["text"]


def test_every_entity_is_labelled_somewhere_and_every_label_exists(matcher):
    labelled = {e for s in SENTENCES for e in s["entities"]}
    assert labelled <= set(matcher.entities)
    assert {"Baogang", "China Northern Rare Earth", "China Rare Earth Group", "MOFCOM", "MIIT", "SASAC",
            "Lynas", "MP Materials", "Iluka", "Neo Performance Materials", "JL Mag", "Shenghe Resources"} <= labelled


def test_spans_are_leftmost_longest_and_word_bounded(matcher):
    text = "Baotou Steel Union, not Baotou Steel, met MOFCOM-approved buyers; MOFCOMX is no ministry."
    assert [(text[a:b], e) for a, b, e in matcher.spans(text)] == [
        ("Baotou Steel Union", "Baotou Steel Union"), ("Baotou Steel", "Baogang"), ("MOFCOM", "MOFCOM")]
    assert matcher.find("据MOFCOM称") == ["MOFCOM"]  # no word boundary needed next to Chinese text
    assert matcher.find("Northern Rare-Earth and Northern Rare Earth") == ["China Northern Rare Earth"]


def test_parents_lead_to_groups(matcher):
    assert matcher.ancestors("China Northern Rare Earth") == ["Baogang"]
    assert matcher.ancestors("Minmetals Rare Earth") == ["China Minmetals"]
    assert matcher.ancestors("MOFCOM") == []


@pytest.mark.parametrize("text, message", [
    ("A: {type: firm, aliases: [a]}", "entity 'A': type must be one of group, company, agency"),
    ("A: {type: group, parent: B, aliases: [a]}", "entity 'A': parent 'B' is not an entity"),
    ("A: {type: group, parent: B, aliases: [a]}\nB: {type: group, parent: A, aliases: [b]}", "parent links form a cycle"),
    ("A: {type: group, aliases: [Same]}\nB: {type: group, aliases: [same]}", "alias 'same' names both 'A' and 'B'"),
    ("A: {type: group}", "entity 'A' has no aliases"),
    ("A: {type: group, aliases: a}", "entity 'A': 'aliases' must be a list of non-empty names"),
    ("A: {type: group, alias: [a]}", "entity 'A': unknown key 'alias'"),
    ("- a", "must map entity names"),
    ("A: [unclosed", "cannot read entities"),
])
def test_a_bad_entities_file_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "entities.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        entities.load(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)
