"""The labelling workflow: export suggestions, import filled CSVs safely and idempotently."""
import shutil

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.signals import SIGNALS
from tests.conftest import ARTICLES, LABELS, PARAMS, RULES

NEW_ARTICLE = """Minmetals Shakes Up Rare Earth Unit

China Minmetals appointed a new general manager at its rare earth subsidiary and merged two smelters.

The commerce ministry tightened export licences for terbium, raising supply risks for Japanese magnet makers.

Share this article
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Seed articles plus one new unlabelled article, split, with a model trained on the seeds."""
    root = tmp_path_factory.mktemp("labelling")
    shutil.copytree(ARTICLES / "seeds", root / "articles" / "seeds")
    gold = pd.read_csv(LABELS, dtype=str, keep_default_na=False)
    gold[gold["paragraph_id"].str.match(r"^\d{3}_")].to_csv(root / "labels.csv", index=False)
    params = root / "params.yaml"
    params.write_text(PARAMS.read_text().replace("cv_folds: 5", "cv_folds: 3"))
    table = root / "paragraphs.parquet"
    assert main(["split", "--articles", str(root / "articles"), "--labels", str(root / "labels.csv"),
                 "--rules", str(RULES), "--out", str(table), "--report", str(root / "r.json")]) == 0
    assert main(["train", "--data", str(table), "--params", str(params), "--out", str(root / "models")]) == 0
    (root / "articles" / "new").mkdir()
    (root / "articles" / "new" / "minmetals.txt").write_text(NEW_ARTICLE)
    assert main(["split", "--articles", str(root / "articles"), "--labels", str(root / "labels.csv"),
                 "--rules", str(RULES), "--out", str(table), "--report", str(root / "r.json")]) == 0
    assert main(["label", "export", "--data", str(table), "--model", str(root / "models"),
                 "--labels", str(root / "labels.csv"), "--articles", str(root / "articles"),
                 "-o", str(root / "todo.csv")]) == 0
    return root


def imported(ws, csv, capsys, *extra):
    labels = ws / "work_labels.csv"
    code = main(["label", "import", str(csv), "--data", str(ws / "paragraphs.parquet"),
                 "--labels", str(labels), "--articles", str(ws / "articles"), *extra])
    return code, capsys.readouterr().err


def exported(ws, output, labels, capsys, *extra):
    code = main(["label", "export", "--data", str(ws / "paragraphs.parquet"), "--model", str(ws / "models"),
                 "--labels", str(labels), "--articles", str(ws / "articles"), "-o", str(output), *extra])
    return code, capsys.readouterr().err


@pytest.fixture
def fresh_labels(ws):
    shutil.copy(ws / "labels.csv", ws / "work_labels.csv")
    return ws / "work_labels.csv"


def test_export_lists_only_unlabelled_paragraphs_most_uncertain_first(ws):
    todo = pd.read_csv(ws / "todo.csv")
    assert len(todo) == 4 and set(todo["article_id"]) == {"minmetals"}
    assert todo["uncertainty"].is_monotonic_decreasing
    assert list(todo.columns[:7]) == ["paragraph_id", "article_id", *SIGNALS]
    assert todo[[f"p_{s}" for s in SIGNALS]].apply(lambda c: c.between(0, 1)).all().all()


def test_import_merges_keeps_existing_and_is_idempotent(ws, fresh_labels, capsys):
    before = pd.read_csv(fresh_labels)
    assert imported(ws, ws / "todo.csv", capsys)[0] == 0
    once = fresh_labels.read_bytes()
    after = pd.read_csv(fresh_labels)
    assert len(after) == len(before) + 4
    pd.testing.assert_frame_equal(after.head(len(before)), before)
    assert imported(ws, ws / "todo.csv", capsys)[0] == 0
    assert fresh_labels.read_bytes() == once


def edited(ws, change) -> str:
    todo = pd.read_csv(ws / "todo.csv", dtype=str, keep_default_na=False)
    path = ws / "edited.csv"
    change(todo).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("change, problem", [
    (lambda t: t.assign(paragraph_id=["nope-1", *t["paragraph_id"][1:]]), "unknown paragraph_id 'nope-1'"),
    (lambda t: t.rename(columns={"technology": "technolgy"}), "missing signal column 'technology'"),
    (lambda t: t.assign(**{"Risk ": "1"}), "column 'Risk ' looks like a second 'risk' column"),
    (lambda t: t.rename(columns={"export": "Export"}), "column 'Export' looks like 'export' misspelt"),
    (lambda t: t.assign(risk=["2", *t["risk"][1:]]), "risk must be 0 or 1, got '2'"),
    (lambda t: pd.concat([t, t.head(1).assign(export="1" if t["export"].iloc[0] == "0" else "0")]),
     "appears twice with different labels"),
])
def test_import_refuses_bad_files_and_changes_nothing(ws, fresh_labels, capsys, change, problem):
    before = fresh_labels.read_bytes()
    code, err = imported(ws, edited(ws, change), capsys)
    assert code == 2 and problem in err and err.count("\n") == 1
    assert fresh_labels.read_bytes() == before


def test_an_annotators_own_columns_are_left_out_and_named(ws, fresh_labels, capsys):
    """A notes column added to the sheet is not a signal: the labels are imported without it, and the line
    says which columns were left out (they were refused as "unknown signal")."""
    code, err = imported(ws, edited(ws, lambda t: t.assign(notes="unsure", politics="0")), capsys)
    assert code == 0 and "4 new" in err and "not signals, left out: 'notes', 'politics'" in err
    assert list(pd.read_csv(fresh_labels).columns) == ["paragraph_id", *SIGNALS, "text"]


def test_identical_duplicates_are_fine(ws, fresh_labels, capsys):
    assert imported(ws, edited(ws, lambda t: pd.concat([t, t.head(2)])), capsys)[0] == 0


def test_changing_an_existing_label_needs_replace(ws, fresh_labels, capsys):
    assert imported(ws, ws / "todo.csv", capsys)[0] == 0
    flipped = edited(ws, lambda t: t.assign(ideology=["1" if v == "0" else "0" for v in t["ideology"]]))
    code, err = imported(ws, flipped, capsys)
    assert code == 2 and "already has different gold labels" in err
    assert imported(ws, flipped, capsys, "--replace")[0] == 0
    merged = pd.read_csv(fresh_labels).set_index("paragraph_id")
    todo = pd.read_csv(ws / "todo.csv").set_index("paragraph_id")
    assert (merged.loc[todo.index, "ideology"] == 1 - todo["ideology"]).all()


def test_export_refuses_to_write_over_the_gold_labels_or_the_table(ws, fresh_labels, capsys):
    """`label export -o data/labels.csv` replaced every gold label with an empty to-do list, exit 0."""
    before = fresh_labels.read_bytes()
    (ws / "link.csv").unlink(missing_ok=True)
    (ws / "link.csv").symlink_to(fresh_labels)
    table = ws / "paragraphs.parquet"
    for output, problem in ((fresh_labels, "is the gold labels; refusing to overwrite it"),
                            (ws / "link.csv", "is the gold labels; refusing to overwrite it"),
                            (table, "the to-do list is written as CSV; give the output a .csv name"),
                            (ws / "todo.parquet", "the to-do list is written as CSV")):
        code = main(["label", "export", "--data", str(table), "--model", str(ws / "models"),
                     "--labels", str(fresh_labels), "-o", str(output)])
        err = capsys.readouterr().err
        assert code == 2 and f"{output}: {problem}" in err, err
    assert fresh_labels.read_bytes() == before and not (ws / "todo.parquet").exists()


def test_export_never_writes_over_a_sheet_being_filled_in(ws, fresh_labels, tmp_path, capsys):
    """A second export to the same name replaced the analyst's corrections with the model's suggestions, exit 0."""
    sheet = tmp_path / "mywork.csv"
    sheet.write_text("paragraph_id,ideology\nminmetals-1,1\n")
    code, err = exported(ws, sheet, fresh_labels, capsys)
    assert code == 2 and err == f"error: {sheet}: exists (a sheet being filled in?); refusing to overwrite it: " \
                                "write the to-do list elsewhere, or pass --force\n", err
    assert sheet.read_text() == "paragraph_id,ideology\nminmetals-1,1\n"
    assert exported(ws, sheet, fresh_labels, capsys, "--force")[0] == 0
    assert sheet.read_bytes().startswith(b"\xef\xbb\xbfparagraph_id,")  # UTF-8 with a BOM: Excel reads Chinese


def test_export_leaves_out_what_was_imported_and_both_say_when_the_table_is_out_of_date(ws, fresh_labels, tmp_path,
                                                                                          capsys):
    """Export listed paragraphs labelled since the last split again, and neither command said that articles added
    or removed since were not in the table."""
    assert imported(ws, ws / "todo.csv", capsys)[0] == 0
    code, err = exported(ws, tmp_path / "again.csv", fresh_labels, capsys)
    assert code == 0 and "label export: 0 paragraphs need labels" in err and "warning" not in err, err
    later = ws / "articles" / "new" / "later.txt"
    later.write_text("Baotou Steel closed two blast furnaces.\n")
    try:
        code, err = exported(ws, tmp_path / "third.csv", fresh_labels, capsys)
        assert code == 0 and f"warning: {ws / 'paragraphs.parquet'} is older than " in err, err
        assert "run `dvc repro split` first" in err
        assert "warning:" in imported(ws, ws / "todo.csv", capsys)[1]
    finally:
        later.unlink()


def test_import_reads_excel_sheets_counts_changes_and_says_which_rows_are_the_suggestions_unchanged(
        ws, fresh_labels, tmp_path, capsys):
    todo = pd.read_csv(ws / "todo.csv", dtype=str, keep_default_na=False)
    assert len(todo) == 4
    sheet = tmp_path / "excel.csv"  # semicolon-separated, as Excel saves CSV in much of Europe, with empty rows
    flipped = todo.assign(reform=["0" if v == "1" else "1" for v in todo["reform"]]).head(1)
    filled = pd.concat([flipped, todo.iloc[1:]])
    sheet.write_text(filled.to_csv(index=False, sep=";") + ";" * (len(todo.columns) - 1) + "\n",
                     encoding="utf-8-sig")
    code, err = imported(ws, sheet, capsys)
    assert code == 0, err
    assert "label import: 4 new, 0 changed, 4 rows read" in err
    assert "3 of the new rows are exactly the model's suggestions: make sure they were read" in err
    merged = pd.read_csv(fresh_labels, dtype=str)
    table = pd.read_parquet(ws / "paragraphs.parquet")
    new = merged["paragraph_id"].iloc[-4:].tolist()
    assert new == [i for i in table["paragraph_id"] if i in set(new)]  # reading order, not the sheet's
    changed = todo.assign(reform=["0" if v == "1" else "1" for v in todo["reform"]])
    changed.to_csv(sheet, index=False)
    code, err = imported(ws, sheet, capsys, "--replace")
    assert code == 0 and "label import: 0 new, 3 changed, 4 rows read" in err, err
    sheet.write_bytes(todo.to_csv(index=False).encode("cp1252", "replace"))
    sheet.write_bytes(sheet.read_bytes().replace(b"minmetals", b"minmetals\xe9", 1))
    code, err = imported(ws, sheet, capsys)
    assert code == 2 and err == f'error: {sheet}: is not UTF-8 text (saved in a Windows code page?); save it as ' \
                                '"CSV UTF-8"\n', err
