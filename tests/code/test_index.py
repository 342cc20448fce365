"""`policy-signals index` on small scores files whose every number can be worked out by hand."""
import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.reporting.index import moves, wilson
from pipeline.signals import SIGNALS


def scores(rows: list[tuple]) -> pd.DataFrame:
    """(doc_id, date, source, entities, export flag) -> a scores table as `score` writes it."""
    frame = pd.DataFrame(rows, columns=["doc_id", "date", "source", "entities", "export"])
    frame.insert(1, "paragraph_id", [f"{d}-{i}" for i, d in enumerate(frame["doc_id"])])
    for s in SIGNALS:
        if s != "export":
            frame[s] = 0
        frame[f"p_{s}"] = frame[s] * 0.8 + 0.1
    frame["title"] = None
    return frame


@pytest.fixture
def scored(tmp_path):
    rows = (
        # January: outlet A (prolific) 8 paragraphs on Lynas, 2 flagged; outlet B 2 paragraphs, both flagged
        [("a1", "2025-01-03", "A", "Lynas", 1), ("a1", "2025-01-03", "A", "Lynas", 1)]
        + [("a2", "2025-01-20", "A", "Lynas", 0)] * 6
        + [("b1", "2025-01-09", "B", "Lynas; MOFCOM", 1), ("b1", "2025-01-09", "B", "Lynas", 1)]
        # February: outlet A 10 paragraphs, all flagged, on China Northern Rare Earth (parent Baogang) and Baogang
        + [("a3", "2025-02-11", "A", "China Northern Rare Earth; Baogang", 1)] * 10
        # undated and entity-less paragraphs
        + [("u1", None, "A", "Lynas", 1), ("n1", "2025-02-01", None, "", 0)]
    )
    path = tmp_path / "scores.parquet"
    scores(rows).to_parquet(path)
    return path


def index(capsys, *args) -> tuple[pd.DataFrame, str]:
    out = args[args.index("-o") + 1]
    assert main(["index", *map(str, args)]) == 0
    return pd.read_parquet(out) if str(out).endswith(".parquet") else pd.read_csv(out), capsys.readouterr().err


def test_counts_shares_intervals_and_source_normalised_share(scored, tmp_path, capsys):
    frame, err = index(capsys, scored, "-o", tmp_path / "i.parquet", "--by", "entity", "--freq", "M")
    assert "1 undated paragraph(s) left out" in err
    lynas = frame[frame["entity"] == "Lynas"].iloc[0]
    assert str(lynas["period"]) == "2025-01-01"
    assert (lynas["paragraphs"], lynas["documents"], lynas["sources"], lynas["n_export"]) == (10, 3, 2, 4)
    assert lynas["share_export"] == pytest.approx(0.4)
    low, high = wilson(4, 10)
    assert (lynas["share_export_low"], lynas["share_export_high"]) == pytest.approx((float(low), float(high)))
    assert (float(low), float(high)) == pytest.approx((0.1682, 0.6873), abs=1e-4)  # the textbook values
    assert lynas["mean_p_export"] == pytest.approx(0.1 + 0.8 * 0.4)
    # source A's whole-span export share: 12 flagged of its 18 dated paragraphs; B's: 2 of 2.
    # Lynas in January: A at 2/8, B at 2/2 -> mean of (0.25 / (12/18), 1.0 / 1.0)
    assert lynas["norm_export"] == pytest.approx(((2 / 8) / (12 / 18) + 1.0) / 2)
    assert lynas["share_reform"] == 0 and np.isnan(lynas["norm_reform"])  # no source ever flags reform
    assert frame["entity"].tolist() == ["Baogang", "China Northern Rare Earth", "Lynas", "MOFCOM"]


def test_by_source_quarterly_from_csv(scored, tmp_path, capsys):
    csv = tmp_path / "scores.csv"
    pd.read_parquet(scored).to_csv(csv, index=False)
    frame, _ = index(capsys, csv, "-o", tmp_path / "i.csv", "--by", "source", "--freq", "Q")
    assert frame.set_index("source")["paragraphs"].to_dict() == {"(unknown source)": 1, "A": 18, "B": 2}
    assert set(frame["period"]) == {"2025-01-01"}
    assert frame.set_index("source").loc["A", "norm_export"] == pytest.approx(1.0)  # a source against itself


def test_jsonl_scores_give_the_same_index_as_parquet(scored, tmp_path, capsys):
    """`score -o x.jsonl` writes JSON lines; `index` (and `report`, through the same view) reads them."""
    jsonl = tmp_path / "scores.jsonl"
    pd.read_parquet(scored).to_json(jsonl, orient="records", lines=True, force_ascii=False)
    from_jsonl, _ = index(capsys, jsonl, "-o", tmp_path / "j.parquet", "--by", "entity")
    from_parquet, _ = index(capsys, scored, "-o", tmp_path / "p.parquet", "--by", "entity")
    pd.testing.assert_frame_equal(from_jsonl, from_parquet)
    assert len(from_jsonl) == 4  # Baogang, China Northern Rare Earth, Lynas, MOFCOM


def test_weeks_start_on_monday_and_roll_up_counts_a_paragraph_once_per_group(scored, tmp_path, capsys):
    frame, _ = index(capsys, scored, "-o", tmp_path / "i.parquet", "--freq", "W", "--roll-up")
    baogang = frame[frame["entity"] == "Baogang"]
    assert baogang["paragraphs"].tolist() == [10] and str(baogang["period"].iloc[0]) == "2025-02-10"
    assert frame[frame["entity"] == "Lynas"]["period"].astype(str).tolist() == ["2024-12-30", "2025-01-06", "2025-01-20"]


def test_moves_that_exceed_their_interval(scored, tmp_path, capsys):
    rows = ([("x", "2025-01-05", "A", "Lynas", 0)] * 30 + [("y", "2025-02-05", "A", "Lynas", 1)] * 30
            + [("z", "2025-03-05", "A", "Lynas", 1)] * 28 + [("z", "2025-03-05", "A", "Lynas", 0)] * 2)
    path = tmp_path / "jump.parquet"
    scores(rows).to_parquet(path)
    frame, _ = index(capsys, path, "-o", tmp_path / "i.parquet")
    found = moves(frame, "entity", "M")
    assert found[["entity", "signal"]].values.tolist() == [["Lynas", "export"]]  # Feb -> Mar is within its interval
    jump = found.iloc[0]
    assert str(jump["period"]) == "2025-02-01" and (jump["before"], jump["after"]) == (0, 1)
    assert 0 < jump["low"] < jump["change"] == 1


@pytest.mark.parametrize("content, message", [
    (pd.DataFrame({"doc_id": ["a"], "text": ["x"]}), "no column 'date' (scored before metadata"),
    (b"not parquet", "cannot read scores"),
])
def test_bad_scores_are_one_clear_error(tmp_path, capsys, content, message):
    path = tmp_path / "s.parquet"
    content.to_parquet(path) if isinstance(content, pd.DataFrame) else path.write_bytes(content)
    assert main(["index", str(path), "-o", str(tmp_path / "i.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: {message}") and err.count("\n") == 1
    assert not (tmp_path / "i.parquet").exists()


def test_an_index_over_its_own_scores_file_is_refused(scored, tmp_path, capsys):
    """Written over one of its inputs (here through a symlink), the index would replace the scores."""
    before = scored.read_bytes()
    link = tmp_path / "link.parquet"
    link.symlink_to(scored)
    for output in (scored, link):
        assert main(["index", str(tmp_path / "other.parquet"), str(scored), "-o", str(output)]) == 2
        assert "is one of the scores files; refusing to overwrite it" in capsys.readouterr().err
    assert scored.read_bytes() == before


def test_page_furniture_is_left_out_of_the_index(tmp_path, capsys):
    """A running header naming a firm ('Baowu Steel research desk') is no news about it."""
    frame = scores([("d1", "2025-03-04", "A", "Lynas", 1), ("d1", "2025-03-04", "A", "China Baowu", 1)])
    frame["kind"] = ["body", "furniture"]
    path = tmp_path / "scores.parquet"
    frame.to_parquet(path)
    index_frame, err = index(capsys, path, "-o", tmp_path / "i.parquet", "--by", "entity")
    assert index_frame["entity"].tolist() == ["Lynas"] and "from 1 paragraphs" in err


@pytest.mark.parametrize("command", ["index", "report"])
@pytest.mark.parametrize("column, value, what", [("p_risk", "n/a", "a probability"), ("export", "yes", "a 0/1 flag")])
def test_a_scores_csv_edited_by_hand_is_one_error_naming_file_column_and_value(scored, tmp_path, capsys, command,
                                                                              column, value, what):
    """A value that is no number (a CSV touched in a spreadsheet) was a DuckDB traceback, exit 1, no file named."""
    frame = pd.read_parquet(scored).astype(str)
    frame.loc[3, column] = value
    path = tmp_path / "edited.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / ("i.csv" if command == "index" else "r.html")
    assert main([command, str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {path}: column '{column}' holds '{value}', not {what} (edited by hand? score it again)\n"
    assert not out.exists()
