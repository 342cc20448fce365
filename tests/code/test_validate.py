"""Stage `validate` refuses, in one line naming the file, what `train` or `crossvalidate` would only fail on
after DVC has deleted their outputs; it writes nothing then."""
import json
import shutil

import pytest

from pipeline.cli import main
from pipeline.corpus import labels
from tests.conftest import ARTICLES, LABELS, PARAMS, RULES

TEAM = 4  # team articles beside the five seeds: enough folds and a holdout, a few seconds to split


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    shutil.copytree(ARTICLES / "seeds", tmp_path / "articles" / "seeds")
    shutil.copytree(ARTICLES / "team", tmp_path / "articles" / "team",
                    ignore=lambda _, names: sorted(names)[TEAM:])
    for source in (LABELS, RULES, PARAMS):
        shutil.copy(source, tmp_path / source.name)
    monkeypatch.chdir(tmp_path)  # gold set paths are relative to here
    return tmp_path


def validate(ws, capsys) -> tuple[int, str]:
    code = main(["validate", "--params", "params.yaml", "--articles", "articles", "--labels", "labels.csv",
                 "--rules", "rules.yaml", "--out", "validated.json"])
    return code, capsys.readouterr().err


def assert_refused(ws, capsys, expected: str):
    code, err = validate(ws, capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and expected in err, err
    assert not (ws / "validated.json").exists()


def edit_params(ws, old: str, new: str):
    text = (ws / "params.yaml").read_text()
    assert old in text
    (ws / "params.yaml").write_text(text.replace(old, new, 1))


def keep_positives(ws, signal: str, articles: int, per_article: int = 1) -> list[str]:
    """Leave `signal` positive in only `per_article` paragraphs of each of `articles` articles of the workspace."""
    gold = labels.read_labels(ws / "labels.csv")
    article = gold["paragraph_id"].str.rsplit("-", n=1).str[0]
    present = {p.stem for p in (ws / "articles").rglob("*.txt")}
    positive = gold[signal].eq(1) & article.isin(present)
    kept = gold[positive].groupby(article[positive]).head(per_article).index[:articles * per_article]
    gold.loc[~gold.index.isin(kept), signal] = 0
    labels.write_labels(gold, ws / "labels.csv")
    return sorted(set(article[kept]))


def test_valid_inputs_pass(workspace, capsys):
    code, err = validate(workspace, capsys)
    assert code == 0 and "are valid" in err and json.loads((workspace / "validated.json").read_text())["valid"]


def test_word_min_df_above_the_labelled_rows(workspace, capsys):
    edit_params(workspace, "word_min_df: 2", "word_min_df: 100000")
    assert_refused(workspace, capsys, "params.yaml: param 'train.word_min_df' is 100000, more than the ")


def test_a_vocabulary_pruned_to_nothing_is_one_line_naming_the_param():
    """No word in `word_min_df` paragraphs, with enough rows to pass validate: train and crossvalidate say so."""
    import pandas as pd
    import yaml

    from pipeline import model
    from pipeline.config import InputError
    from pipeline.signals import SIGNALS

    frame = pd.DataFrame({"text": [f"alpha{i} beta{i} gamma{i}" for i in range(12)],
                          "article_id": [f"a{i % 4}" for i in range(12)], "lang": "en",
                          **{s: [(i + k) % 2 for i in range(12)] for k, s in enumerate(SIGNALS)}})
    params = yaml.safe_load(PARAMS.read_text())
    train = {**params["train"], "word_min_df": 2, "cv_folds": 2}
    with pytest.raises(InputError, match=r"^params.yaml: param 'train.word_min_df' leaves no word in the "):
        with model.vocabulary_kept("params.yaml"):
            model.fit(train, params["seed"], frame)
    # validate sees it first, in the words of every model it checks (here: the first fold's), before train runs
    with pytest.raises(InputError, match=r"^params.yaml: param 'train.word_min_df' is 2: no word is in that many of "
                                         r"the \d+ labelled paragraphs a model is trained on \(training without"):
        model.check_fits(train, frame, "params.yaml", "labels.csv", words=model.word_presence(frame["text"]))
    model.check_fits({**train, "word_min_df": 1}, frame, "params.yaml", "labels.csv",
                     words=model.word_presence(frame["text"]))


def test_svm_needs_as_many_positives_as_calibration_folds(workspace, capsys):
    edit_params(workspace, "classifier: logreg", "classifier: svm")
    keep_positives(workspace, "risk", articles=2)
    assert_refused(workspace, capsys, "labels.csv: signal 'risk' has 2 positive training examples; "
                                      "classifier 'svm' needs at least 3")


def test_svm_positives_are_counted_in_every_cross_validation_fold(workspace, capsys):
    edit_params(workspace, "classifier: logreg", "classifier: svm")
    keep_positives(workspace, "risk", articles=3)  # 3 in all, so 2 where a fold holds one article out
    assert_refused(workspace, capsys, "labels.csv: signal 'risk' has 2 positive training examples (training "
                                      "without article ")


def test_holdout_source_with_no_labelled_article(workspace, capsys):
    edit_params(workspace, "holdout_source: seeds", "holdout_source: seed")
    assert_refused(workspace, capsys, "params.yaml: param 'evaluate.holdout_source' is 'seed', but no gold-labelled "
                                      "article comes from that source folder (those that do: seeds, team)")


def test_labels_from_two_articles_cannot_be_cross_validated(workspace, capsys):
    shutil.rmtree(workspace / "articles" / "team")
    for path in sorted((workspace / "articles" / "seeds").iterdir())[2:]:
        path.unlink()
    assert_refused(workspace, capsys, "labels.csv: cross-validation needs gold labels from at least 3 articles")


@pytest.mark.parametrize("listed, content, expected", [
    ("dev.txt", None, "dev.txt: a gold set must be .jsonl or .csv"),  # refused even while missing
    ("dev.jsonl", "Baogang’s plan".encode("cp1252"), "dev.jsonl: not valid UTF-8 (byte 0x92 at offset 7)"),
    ("dev.jsonl", b'{"text": "x", "labels": ["exports"]}\n', "dev.jsonl: line 1: unknown signal 'exports'"),
    ("eval", "directory", "eval: is a directory; a gold set is one .jsonl or .csv file"),
])
def test_gold_sets_are_checked_before_training(workspace, capsys, listed, content, expected):
    if content == "directory":
        (workspace / listed).mkdir()
    elif content is not None:
        (workspace / listed).write_bytes(content)
    edit_params(workspace, "dev_en: ../shared/eval/real_dev.jsonl", f"dev_en: {listed}")
    assert_refused(workspace, capsys, expected)


def test_a_missing_gold_set_is_left_to_evaluate_to_report(workspace, capsys):
    edit_params(workspace, "dev_en: ../shared/eval/real_dev.jsonl", "dev_en: not/here.jsonl")
    assert validate(workspace, capsys)[0] == 0
