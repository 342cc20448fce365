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
