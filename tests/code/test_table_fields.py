"""Strict table text fields: a text value that is a number, list or null is named with its row (or scored
as text only under --coerce-text), and a table with no text at all is a failed input."""
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.cli import main


def score(args, capsys):
    code = main(["score", *map(str, args)])
    return code, capsys.readouterr().err


GOOD = "MOFCOM tightened export licences for terbium."


@pytest.mark.parametrize("value, described", [(42, "a number (42)"), (["a", "b"], "a list"), (None, "null"),
                                              (True, "a boolean (True)"), ({"body": GOOD}, "an object")])
def test_jsonl_text_that_is_not_a_string_is_named_with_its_row(model_dir, tmp_path, capsys, value, described):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"text": v}) + "\n" for v in [GOOD, GOOD, value, GOOD]))
    code, err = score([path, "-o", tmp_path / "o.csv", "--model", model_dir], capsys)
    assert code == 1
    assert f"error: {path}: row 3: 'text' is {described}" in err and "--coerce-text" in err
    assert len(err.strip().splitlines()) == 2  # the error and the summary line


def test_parquet_list_and_null_texts_are_refused_then_coerced_on_request(model_dir, tmp_path, capsys):
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"text": pa.array([[GOOD], None, ["Baowu opened", "a smart factory."]],
                                              type=pa.list_(pa.string()))}), path)
    out = tmp_path / "o.csv"
    code, err = score([path, "-o", out, "--model", model_dir], capsys)
    assert code == 1 and f"{path}: row 1: 'text' is a list" in err
    code, err = score([path, "-o", out, "--model", model_dir, "--coerce-text", "--include-text", "--no-split"], capsys)
    assert code == 0, err
    rows = pd.read_csv(out)
    assert rows["text"].tolist() == [GOOD, "Baowu opened a smart factory."]  # the null row is empty: no paragraph
    assert rows["doc_id"].tolist() == ["rows.parquet:1", "rows.parquet:3"]


def test_numbers_are_scored_as_text_only_when_asked(model_dir, tmp_path, capsys):
    path = tmp_path / "numbers.jsonl"
    path.write_text('{"text": 2026}\n{"text": 1.5}\n')
    out = tmp_path / "o.csv"
    assert score([path, "-o", out, "--model", model_dir], capsys)[0] == 1
    code, err = score([path, "-o", out, "--model", model_dir, "--coerce-text", "--include-text"], capsys)
    assert code == 0, err
    assert pd.read_csv(out, dtype=str)["text"].tolist() == ["2026", "1.5"]


def test_a_million_empty_csv_rows_are_a_failed_input_not_zero_paragraphs(model_dir, tmp_path, capsys):
    path = tmp_path / "empty.csv"
    with open(path, "w") as handle:
        handle.write("id,text\n")
        handle.writelines(f"{i},\n" for i in range(1_000_000))
    good = tmp_path / "good.csv"
    pd.DataFrame({"id": ["g"], "text": [GOOD]}).to_csv(good, index=False)
    out = tmp_path / "o.csv"
    code, err = score([path, good, "-o", out, "--model", model_dir, "--id-column", "id"], capsys)
    assert code == 1
    assert f"{path}: no text to score: column 'text' is empty in all 1000000 rows" in err
    assert pd.read_csv(out)["doc_id"].tolist() == ["g"]
    code, err = score([path, "-o", out, "--model", model_dir, "--strict"], capsys)
    assert code == 2 and "no text to score" in err


def test_rows_without_an_id_get_their_row_and_repeated_ids_are_warned_of(model_dir, tmp_path, capsys):
    """A null or blank id was the doc_id NaN (paragraph ids 'nan-...'), and --summary dropped those rows; rows
    repeating an id were merged into one document without a word."""
    path = tmp_path / "rows.jsonl"
    rows = [{"url": "u1", "text": GOOD}, {"text": "Baogang held a Party committee study session."},
            {"url": None, "text": "A flood halted output at the Baotou smelter."}, {"url": " ", "text": "Lynas opened a plant."},
            {"url": "u1", "text": "Dysprosium prices rose by a third."}, {"url": "u2", "text": ""}, {"url": "u2", "text": GOOD}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out, summary = tmp_path / "o.csv", tmp_path / "s.csv"
    code, err = score([path, "-o", out, "--summary", summary, "--model", model_dir, "--id-column", "url"], capsys)
    assert code == 0, err
    assert pd.read_csv(out)["doc_id"].tolist() == ["u1", "rows.jsonl:2", "rows.jsonl:3", "rows.jsonl:4", "u1", "u2"]
    assert not pd.read_csv(out)["paragraph_id"].str.startswith("nan").any()
    assert sorted(pd.read_csv(summary)["doc_id"]) == ["rows.jsonl:2", "rows.jsonl:3", "rows.jsonl:4", "u1", "u2"]
    warning = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warning == [f"warning: {path}: 1 row(s) with no text in 'text' are not scored; "
                       "1 row(s) repeat an earlier row's 'url' (first 'u1'): each is scored under "
                       "that id from position 0, and --summary counts them as one document; 3 row(s) have no 'url' "
                       "and are identified as 'rows.jsonl:<row>'"]  # u2's empty row is not scored, so not a repeat
    code, err = score([path, "-o", out, "--model", model_dir], capsys)
    assert code == 0 and [line for line in err.splitlines() if line.startswith("warning:")] == [
        f"warning: {path}: 1 row(s) with no text in 'text' are not scored"]  # were dropped without a word


def test_a_utf16_csv_is_read_and_a_windows_code_page_one_is_named_in_one_line(model_dir, tmp_path, capsys):
    """Excel's 'Unicode text' export (UTF-16 with a BOM) failed, and a cp1252 export's error was pandas' own
    UnicodeDecodeError text; `.txt` files read the first and name the second plainly."""
    wide, windows = tmp_path / "wide.csv", tmp_path / "windows.csv"
    wide.write_text(f"id,text\n1,{GOOD}\n", encoding="utf-16")
    windows.write_bytes("id,text\n1,MOFCOM\u2019s licences for terbium.\n".encode("cp1252"))
    out = tmp_path / "o.csv"
    code, err = score([wide, "-o", out, "--model", model_dir, "--include-text"], capsys)
    assert code == 0, err
    assert pd.read_csv(out)["text"].tolist() == [GOOD]
    code, err = score([windows, "-o", tmp_path / "w.csv", "--model", model_dir], capsys)
    assert code == 1 and err.splitlines()[0].startswith(f"error: {windows}: not valid UTF-8 (byte 0x92); save the "
                                                        "table as UTF-8 (Excel: 'CSV UTF-8')")


def test_a_csv_with_its_text_column_twice_is_refused_naming_it(model_dir, tmp_path, capsys):
    """'url,text,title,text': the first 'text' was scored and the second ignored, silently."""
    path = tmp_path / "twice.csv"
    path.write_text(f"url,text,title,text\nu1,{GOOD},T,Baogang held a Party study session.\n", encoding="utf-8")
    code, err = score([path, "-o", tmp_path / "o.csv", "--model", model_dir], capsys)
    assert code == 1 and err.splitlines()[0].startswith(
        f"error: {path}: column 'text' appears more than once in the header; rename one")
