"""`score` never loses a user's file: outputs never clobber inputs, tables are scored whole or not at all,
temporaries of killed runs are cleaned up and never read, and every failure is one line with the
documented exit code (issue 15 points 1, 2, 7; issue 13 point 4)."""
import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import bundle
from pipeline.cli import main
from pipeline.reporting import metadata
from pipeline.scoring import inputs, sources
from tests.conftest import ARTICLES, rehash

ARTICLE = ARTICLES / "seeds" / "000_4351a19fe1e57ad0.txt"


def score(args, capsys):
    code = main(["score", *map(str, args)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def one_error(err: str, expected: str) -> None:
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0], err


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "in").mkdir()
    shutil.copy(ARTICLE, tmp_path / "in" / ARTICLE.name)
    pd.DataFrame({"text": ["MOFCOM tightened export licences for terbium.", "The Party committee met."]}).to_csv(
        tmp_path / "in" / "rows.csv", index=False)
    return tmp_path


def test_output_that_is_an_input_is_refused_before_any_work(folder, model_dir, capsys):
    data = folder / "in" / "rows.csv"
    before = data.read_bytes()
    code, err = score([data, "-o", data, "--model", model_dir], capsys)
    assert code == 2 and data.read_bytes() == before
    one_error(err, "rows.csv: is one of the inputs; refusing to overwrite it")
    assert err.count("\n") == 1
    code, err = score([folder / "in", "-o", folder / "x.csv", "--summary", folder / "x.csv", "--model", model_dir],
                      capsys)
    assert code == 2 and not (folder / "x.csv").exists()
    one_error(err, "x.csv: is both the -o output and the --summary")
    record = folder / "out.csv.run.json"  # the run record written beside the output is an output too
    record.write_text('{"text": "MOFCOM tightened export licences."}\n')
    code, err = score([record, "-o", folder / "out.csv", "--model", model_dir], capsys)
    assert code == 2 and record.read_text().startswith('{"text"') and not (folder / "out.csv").exists()
    one_error(err, "out.csv.run.json: is one of the inputs; refusing to overwrite it")


def test_the_catalog_is_never_an_output_however_spelt(folder, model_dir, capsys):
    catalog = folder / "catalog.csv"
    catalog.write_text("doc_id,date\nrows.csv,2024-05-01\n")
    before = catalog.read_bytes()
    for outputs in (["-o", catalog], ["-o", folder / "o.csv", "--summary", catalog],
                    ["-o", folder / "new" / ".." / "catalog.csv"]):  # through a folder the run would create
        code, err = score([folder / "in", *outputs, "--catalog", catalog, "--model", model_dir], capsys)
        assert code == 2 and catalog.read_bytes() == before
        one_error(err, "catalog.csv: is the --catalog; refusing to overwrite it")
    assert not (folder / "o.csv").exists()


def test_an_input_reached_through_a_bind_mount_is_not_overwritten(folder, model_dir, tmp_path):
    """The same file by another path that no resolving of symlinks reveals: compared by device and inode."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    data = folder / "in" / "rows.csv"
    before = data.read_bytes()
    script = (f'mount --bind "{folder / "in"}" "{mirror}" && '
              f'"{sys.executable}" -m pipeline score "{data}" -o "{mirror / "rows.csv"}" --model "{model_dir}"; '
              f'echo "rc=$?" >&2; "{sys.executable}" -m pipeline score "{folder / "in"}" '
              f'-o "{mirror / "scores.csv"}" --model "{model_dir}"; echo "rc=$?" >&2')
    try:
        run = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        pytest.skip("no unshare here")
    if "mount:" in run.stderr or "unshare:" in run.stderr:
        pytest.skip(f"cannot bind-mount here: {run.stderr.strip()}")
    lines = run.stderr.splitlines()
    assert lines[0].endswith("rows.csv: is one of the inputs; refusing to overwrite it") and lines[1] == "rc=2", \
        run.stderr
    assert "is inside the input folder" in lines[2] and lines[3] == "rc=2", run.stderr
    assert data.read_bytes() == before and not (folder / "in" / "scores.csv").exists()


def test_a_pattern_through_a_symlinked_folder_would_read_the_output_back(folder, model_dir, capsys):
    (folder / "link").symlink_to(folder / "in")
    code, err = score([f"{folder}/link/*.csv", "-o", folder / "in" / "new.csv", "--model", model_dir], capsys)
    assert code == 2 and not (folder / "in" / "new.csv").exists()
    one_error(err, f"matches the input pattern {folder}/link/*.csv")
    (folder / "other").mkdir()  # a symlinked folder that the pattern's wildcards reach: glob follows it
    (folder / "in" / "a").symlink_to(folder / "other")
    for pattern in (f"{folder}/*/*.csv", f"{folder}/in/**/*.csv"):
        code, err = score([pattern, "-o", folder / "other" / "out.csv", "--model", model_dir], capsys)
        assert code == 2 and not (folder / "other" / "out.csv").exists()
        one_error(err, f"matches the input pattern {pattern}")


def test_two_outputs_that_are_one_file_through_a_symlink_and_dotdot_are_refused(folder, model_dir, capsys):
    (folder / "x" / "sub").mkdir(parents=True)
    (folder / "s").symlink_to(folder / "x" / "sub")  # s/.. is x to the kernel, not the folder holding s
    code, err = score([folder / "in", "-o", folder / "s" / ".." / "o.csv", "--summary", folder / "x" / "o.csv",
                       "--model", model_dir], capsys)
    assert code == 2 and not (folder / "x" / "o.csv").exists()
    one_error(err, "is both the -o output and the --summary")


def test_standard_input_given_twice_is_scored_once(folder, model_dir, capsys, monkeypatch):
    import io
    import types

    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"MOFCOM tightened export licences.")))
    code, err = score(["-", "-", "-o", folder / "o.csv", "--model", model_dir], capsys)
    assert code == 0 and pd.read_csv(folder / "o.csv")["doc_id"].tolist() == ["stdin"], err


@pytest.mark.parametrize("name,content,expected", [
    ("bare.jsonl", '{"text": "MOFCOM tightened export licences."}\n5\n', "bare.jsonl: cannot read table (ValueError: line 2 is not a JSON object)"),
    ("null.jsonl", '{"text": "MOFCOM tightened export licences."}\nnull\n', "null.jsonl: cannot read table (ValueError: line 2 is not a JSON object)"),
    ("list.jsonl", '{"text": "MOFCOM tightened export licences."}\n["a"]\n',
     "list.jsonl: cannot read table (ValueError: line 2 is not a JSON object)"),
    # pandas would read a list of pairs as an object
    ("pairs.jsonl", '{"text": "MOFCOM tightened export licences."}\n\n[["text", "Export controls."]]\n',
     "pairs.jsonl: cannot read table (ValueError: line 3 is not a JSON object)"),
    # pandas would take a longer first row's extra fields as an index and score ids as text
    ("wide.csv", "\nid,text\n1,MOFCOM tightened export licences.,extra\n2,The Party met.\n",
     "wide.csv: cannot read table (ValueError: the first row has 3 fields, the header 2)"),
])
def test_a_table_whose_records_do_not_fit_is_skipped_with_one_line(folder, model_dir, capsys, name, content,
                                                                   expected):
    (folder / name).write_text(content)
    code, err = score([folder / name, ARTICLE, "-o", folder / "o.csv", "--model", model_dir], capsys)
    assert code == 1
    one_error(err, expected)
    assert not pd.read_csv(folder / "o.csv")["doc_id"].str.startswith(name).any()


def test_output_inside_an_input_folder_or_matched_by_an_input_pattern_is_refused(folder, model_dir, capsys):
    code, err = score([folder / "in", "-o", folder / "in" / "scores.csv", "--model", model_dir], capsys)
    assert code == 2 and not (folder / "in" / "scores.csv").exists()
    one_error(err, "is inside the input folder")
    code, err = score([f"{folder}/in/*.csv", "-o", folder / "in" / "new.csv", "--model", model_dir], capsys)
    assert code == 2
    one_error(err, f"matches the input pattern {folder}/in/*.csv")
    hidden = folder / "in" / ".scores" / "new.csv"  # glob's ** never enters a hidden folder: allowed
    code, err = score([f"{folder}/in/**/*.csv", "-o", hidden, "--model", model_dir], capsys)
    assert code == 0 and hidden.exists(), err
    shutil.rmtree(hidden.parent)  # a folder input, unlike a glob, does read hidden folders
    code, err = score([folder / "in", "--summary", folder / "in" / "s.csv", "-o", folder / "o.csv",
                       "--model", model_dir], capsys)
    assert code == 2 and not (folder / "o.csv").exists()
    # written elsewhere, a second run reads exactly what the first did (22 paragraphs never become 44)
    counts = []
    for _ in range(2):
        assert score([folder / "in", "-o", folder / "o.csv", "--model", model_dir], capsys)[0] == 0
        counts.append(len(pd.read_csv(folder / "o.csv")))
    assert counts[0] == counts[1] == 16


def test_when_nothing_can_be_scored_an_existing_output_is_left_untouched(folder, model_dir, capsys):
    out = folder / "o.parquet"
    out.write_bytes(b"last week's scores")
    code, err = score([folder / "typo.txt", "-o", out, "--model", model_dir], capsys)
    assert code == 1 and out.read_bytes() == b"last week's scores"
    assert "typo.txt: no such file or directory" in err
    assert err.splitlines()[-1] == f"error: nothing could be scored (1 input(s) failed); {out} left as it was"
    (folder / "bad.txt").write_bytes("Baogang’s plan".encode("cp1252"))
    code, err = score([folder / "bad.txt", "-o", out, "--model", model_dir], capsys)
    assert code == 1 and out.read_bytes() == b"last week's scores" and "left as it was" in err
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_bad_output_paths_fail_before_scoring_with_one_line(folder, model_dir, capsys):
    (folder / "x.parquet").mkdir()
    for output, expected in ((folder / "x.parquet", "x.parquet: is a directory"),
                             (folder / "in" / "rows.csv" / "o.csv", "rows.csv is a file, not a folder"),
                             ("/proc/policy-signals/o.csv", "cannot write here")):
        code, err = score([ARTICLE, "-o", output, "--model", model_dir], capsys)
        assert code == 2 and err.count("\n") == 1, err
        one_error(err, expected)
        # the output typed is named, not the run record beside it (o.csv.run.json), which was claimed first
        assert err.startswith(f"error: {output}: "), err


def big_jsonl(path, broken_line=None, rows=7000):
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(1, rows + 1):
            handle.write("{broken\n" if i == broken_line else json.dumps({"text": f"MOFCOM licence {i} for terbium."}) + "\n")
    return path


def read_any(path):
    return pd.read_parquet(path) if path.suffix == ".parquet" else \
        pd.read_json(path, lines=True, dtype=False) if path.suffix == ".jsonl" else pd.read_csv(path, dtype=str)


@pytest.mark.parametrize("hold", [sources.HOLD_BYTES, 0])
def test_a_table_with_a_bad_row_is_skipped_whole_with_its_line_unless_asked(folder, model_dir, capsys,
                                                                         monkeypatch, hold):
    monkeypatch.setattr(inputs, "CHUNK_ROWS", 500)  # a tenth of the rows in every step below: the same paths
    table = big_jsonl(folder / "t.jsonl", broken_line=601, rows=700)
    good = big_jsonl(folder / "g.jsonl", rows=120)
    # a table is read once. A small one is held until read whole; a larger one (hold=0: every one) streams,
    # so the 500 rows (a chunk) before the bad line are scored and written, then taken back out: with one
    # job and with two, in small batches, in every output format and its per-document summary
    monkeypatch.setattr(sources, "HOLD_BYTES", hold)
    for suffix in (".csv", ".jsonl", ".parquet") if hold == 0 else (".parquet",):  # held: nothing to take back
        out, summary = folder / f"o{suffix}", folder / f"s{suffix}"
        code, err = score([good, ARTICLE, "-o", out, "--summary", summary, "--model", model_dir, "--no-split",
                           "--batch-size", "50"], capsys)
        assert code == 0, err
        expected, expected_summary = read_any(out), read_any(summary)
        for jobs in ("1", "2"):
            code, err = score([good, table, ARTICLE, "-o", out, "--summary", summary, "--model", model_dir,
                               "--no-split", "--jobs", jobs, "--batch-size", "50"], capsys)
            assert code == 1
            one_error(err, "t.jsonl: cannot read table (ValueError: line 601 is not valid JSON")
            assert "(skipped)" in err and "1 input(s) failed and were skipped whole: " in err
            assert err.splitlines()[-1].startswith("score: 134 paragraphs from 2 input(s)"), err
            pd.testing.assert_frame_equal(read_any(out), expected)  # not one of the 500 rows before the bad line
            pd.testing.assert_frame_equal(read_any(summary), expected_summary)
    code, err = score([table, ARTICLE, "-o", out, "--model", model_dir, "--no-split", "--keep-partial"], capsys)
    assert code == 1 and "kept its first 600 rows" in err  # every row before line 601
    assert "1 table(s) kept only their rows before a bad row: " in err.splitlines()[-1]
    assert pd.read_parquet(out)["doc_id"].str.startswith("t.jsonl:").sum() == 600
    (folder / "c.csv").write_text("text,x\na,b\nc,d,e\n")
    code, err = score([folder / "c.csv", ARTICLE, "-o", out, "--model", model_dir], capsys)
    assert code == 1
    one_error(err, "Expected 2 fields in line 3, saw 3")


ROW = "MOFCOM tightened export licences for terbium, notice {}."


@pytest.mark.parametrize("name, content, kept, problem", [
    ("number.jsonl", "".join(json.dumps({"text": 12345 if i == 3 else ROW.format(i)}) + "\n" for i in range(1, 7)),
     2, "row 3: 'text' is a number"),
    ("broken.jsonl", "".join(("{broken" if i == 3 else json.dumps({"text": ROW.format(i)})) + "\n" for i in range(1, 7)),
     2, "line 3 is not valid JSON"),
    ("null.jsonl", "".join(json.dumps({"text": None if i == 5005 else ROW.format(i)}) + "\n" for i in range(1, 5011)),
     5004, "row 5005: 'text' is null"),  # the second chunk of 5,000 rows: its first four rows are kept too
    ("fields.csv", "text\n" + "".join(("a,b,c" if i == 3 else ROW.format(i).replace(",", ";")) + "\n"
                                      for i in range(1, 7)), 2, "Expected 1 fields in line 4, saw 3"),
    ("quote.csv", "text\n" + "".join(('"never closed' if i == 3 else ROW.format(i).replace(",", ";")) + "\n"
                                     for i in range(1, 7)), 2, "EOF inside string"),
])
def test_keep_partial_keeps_exactly_the_rows_before_the_bad_one(folder, model_dir, capsys, name, content, kept,
                                                                  problem):
    """As the README says: every row before the first bad one, not the rows of the chunks (5,000 rows) before it."""
    table = folder / name
    table.write_text(content, encoding="utf-8")
    out = folder / "o.csv"
    code, err = score([table, "-o", out, "--model", model_dir, "--no-split", "--keep-partial"], capsys)
    assert code == 1 and f"(kept its first {kept} rows: --keep-partial)" in err
    one_error(err, problem)
    assert pd.read_csv(out)["doc_id"].tolist() == [f"{name}:{i}" for i in range(1, kept + 1)]
    code, err = score([table, ARTICLE, "-o", out, "--model", model_dir, "--no-split"], capsys)
    assert code == 1 and "(skipped)" in err and not pd.read_csv(out)["doc_id"].str.startswith(name).any()


def test_a_table_on_standard_input_with_a_bad_row(folder, model_dir, capsys, monkeypatch):
    import io
    import types

    data = big_jsonl(folder / "t.jsonl", broken_line=6001).read_bytes()
    out = folder / "o.csv"
    for keep, expected_code, kept in (([], 1, 0), (["--keep-partial"], 1, 6000)):
        monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))
        code, err = score(["-", ARTICLE, "--stdin-format", ".jsonl", "-o", out, "--model", model_dir, "--no-split",
                           *keep], capsys)
        assert code == expected_code
        one_error(err, "<stdin>: cannot read table")
        assert pd.read_csv(out)["doc_id"].str.startswith("<stdin>:").sum() == kept, err


def test_a_bad_row_after_a_written_parquet_row_group_scores_again_without_its_table(folder, model_dir, capsys,
                                                                                       monkeypatch):
    import io
    import types

    from pipeline.scoring import outputs

    first, second = big_jsonl(folder / "a.jsonl", broken_line=6001), big_jsonl(folder / "b.jsonl", broken_line=7)
    good, out = big_jsonl(folder / "g.jsonl", rows=1200), folder / "o.parquet"
    monkeypatch.setattr(outputs, "ROW_GROUP", 1000)  # row groups are written before a.jsonl's bad line
    monkeypatch.setattr(sources, "HOLD_BYTES", 0)  # every table streams
    stdin = ARTICLE.read_bytes()  # read once: the second attempt replays it
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(stdin)))
    assert score(["-", good, ARTICLE, "-o", out, "--model", model_dir, "--no-split"], capsys)[0] == 0
    expected = pd.read_parquet(out)
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(stdin)))
    code, err = score(["-", good, first, second, ARTICLE, "-o", out, "--model", model_dir, "--no-split"], capsys)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "a.jsonl: cannot read table (ValueError: line 6001 " in errors[0] \
        and "b.jsonl: cannot read table (ValueError: line 7 " in errors[1], err
    assert err.splitlines()[-1].startswith(f"score: {len(expected)} paragraphs from 3 input(s)")
    assert "2 input(s) failed and were skipped whole: " in err
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    assert len(pq_groups(out)) > 1 and not list(folder.glob(".*.tmp"))


def pq_groups(path):
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_temporaries_of_killed_runs_go_whatever_the_output_and_are_never_read(folder, model_dir, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = folder / "in" / f".other.parquet.{dead.pid}.abc123de.policy-signals.tmp"
    stale_csv = folder / "in" / f".rows.csv.{dead.pid}.xyz_9876.policy-signals.tmp"
    alive = folder / "in" / f".busy.csv.{os.getppid()}.abcdefgh.policy-signals.tmp"
    lookalike = folder / "in" / f".notes.csv.{dead.pid}.abcdefgh.tmp"  # a user's file, not ours
    for path in (stale, stale_csv, alive, lookalike):
        path.write_text("text\nMOFCOM tightened export licences.\n")
    for argument in (folder / "in", f"{folder}/in/.*", f"{folder}/in/*"):  # never read as input
        code, err = score([argument, ARTICLE, "-o", folder / "o.csv", "--model", model_dir], capsys)
        assert code in (0, 1) and ".policy-signals.tmp" not in pd.read_csv(folder / "o.csv")["doc_id"].str.cat(), err
    assert stale.exists() and alive.exists()
    score([ARTICLE, "-o", folder / "in" / "anything.csv", "--model", model_dir], capsys)
    assert not stale.exists() and not stale_csv.exists()  # the next run into that folder removed them
    assert alive.exists()  # a running writer's temporary is left alone
    assert lookalike.exists()  # so is a user's file that only looks like a temporary


def test_bundles_whose_hashes_match_but_are_broken_are_refused_in_one_line(model_dir, tmp_path, capsys):
    def broken(change):
        copy = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
        shutil.copytree(model_dir, copy)
        change(copy)
        rehash(copy)
        return copy

    def card_edit(edit):
        def change(copy):
            card = json.loads((copy / bundle.CARD).read_text())
            edit(card)
            (copy / bundle.CARD).write_text(json.dumps(card))
        return change

    cases = [
        (card_edit(lambda c: c.pop("thresholds")), "model_card.json: model has no 'thresholds' mapping"),
        (card_edit(lambda c: c["thresholds"]["en"].update(risk="high")), "threshold for 'risk' (en) must be a number in [0, 1]"),
        (card_edit(lambda c: c["thresholds"].pop("en")), "model has no thresholds for the default language 'en'"),
        (lambda copy: (copy / bundle.CARD).write_text("{not json"), "model card is not readable JSON"),
        (lambda copy: (copy / bundle.MODEL).write_bytes((copy / bundle.MODEL).read_bytes()[:5000]),
         "scoring_tables.bin: made for another model file than model.joblib"),
        (lambda copy: (copy / bundle.TABLES).write_bytes((copy / bundle.TABLES).read_bytes()[:5000]),
         "scoring_tables.bin: cannot load the scoring tables"),
    ]
    for change, expected in cases:
        code, err = score([ARTICLE, "-o", tmp_path / "o.csv", "--model", broken(change)], capsys)
        assert code == 2 and err.count("\n") == 1 and expected in err, err
        assert not (tmp_path / "o.csv").exists()


def test_label_export_on_a_table_without_the_expected_columns(tmp_path, model_dir, capsys):
    pd.DataFrame({"text": ["a"]}).to_parquet(tmp_path / "p.parquet")
    code = main(["label", "export", "--data", str(tmp_path / "p.parquet"), "--model", str(model_dir),
                 "-o", str(tmp_path / "todo.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "p.parquet: not a paragraphs table from `split` (no column 'paragraph_id')" in err


# --- property: random bundles, output paths and tables never give a traceback ---------------------------

BUNDLE_CHANGES = st.one_of(
    st.just(("none", None)),
    st.tuples(st.just("truncate"), st.integers(0, 20000)),
    st.tuples(st.just("flip"), st.integers(0, 10**6)),
    st.tuples(st.just("card"), st.one_of(st.text(max_size=40), st.dictionaries(
        st.sampled_from(["signals", "thresholds", "params"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.text(max_size=5), max_size=5),
                  st.dictionaries(st.sampled_from(["ideology", "reform", "export", "technology", "risk"]),
                                  st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.none()))))).map(
        lambda v: v if isinstance(v, str) else json.dumps(v))),
    st.tuples(st.just("manifest"), st.binary(max_size=80)),
    st.tuples(st.just("delete"), st.sampled_from([bundle.MODEL, bundle.CARD, bundle.MANIFEST])),
)
OUTPUTS = st.one_of(
    st.tuples(st.just("name"), st.text(alphabet="abcxyz._- ", min_size=1, max_size=12),
              st.sampled_from([".csv", ".jsonl", ".parquet", ".xlsx", "", ".CSV"])),
    st.sampled_from([("dir", None), ("under-file", None), ("input", None), ("inside-input", None), ("proc", None),
                     ("same-as-summary", None)]),
)
TABLES = st.tuples(st.sampled_from([".csv", ".jsonl", ".parquet", ".txt"]), st.one_of(
    st.binary(max_size=300),
    st.lists(st.dictionaries(st.sampled_from(["text", "id", "body"]),
                             st.one_of(st.text(max_size=30), st.integers(), st.none(), st.floats(allow_nan=True))),
             max_size=6).map(lambda rows: "\n".join(json.dumps(r) for r in rows).encode())))


def apply_bundle_change(directory, change):
    kind, value = change
    if kind == "truncate":
        data = (directory / bundle.MODEL).read_bytes()
        (directory / bundle.MODEL).write_bytes(data[:value % max(len(data), 1)])
    elif kind == "flip":
        data = bytearray((directory / bundle.MODEL).read_bytes())
        data[value % len(data)] ^= 0xFF
        (directory / bundle.MODEL).write_bytes(bytes(data))
    elif kind == "card":
        (directory / bundle.CARD).write_text(value)
    elif kind == "manifest":
        (directory / bundle.MANIFEST).write_bytes(value)
        return
    elif kind == "delete":
        (directory / value).unlink()
        return
    if kind != "none":  # make the hashes match the change, so the deeper checks are what must refuse it
        (directory / bundle.MANIFEST).write_text("".join(f"{bundle.sha256(directory / n)}  {n}\n"
                                                         for n in (bundle.MODEL, bundle.CARD)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(change=BUNDLE_CHANGES, output=OUTPUTS, table=TABLES, keep_partial=st.booleans())
def test_random_bundles_outputs_and_tables_never_give_a_traceback(small_bundle, tmp_path_factory, capsys,
                                                                  change, output, table, keep_partial):
    work = tmp_path_factory.mktemp("prop")
    model = shutil.copytree(small_bundle[0], work / "model")
    apply_bundle_change(model, change)
    (work / "in").mkdir()
    suffix, content = table
    data = work / "in" / f"t{suffix}"
    data.write_bytes(content)
    kind, *rest = output
    summary = []
    if kind == "name":
        out = work / "out" / (rest[0] + rest[1])
    else:
        out = {"dir": work / "in", "under-file": data / "o.csv", "input": data, "inside-input": work / "in" / "o.csv",
               "proc": "/proc/ps/o.csv", "same-as-summary": work / "o.csv"}[kind]
        summary = ["--summary", work / "o.csv"] if kind == "same-as-summary" else []
    before = data.read_bytes()
    code, err = score([work / "in", "-o", out, "--model", model, *summary, *(["--keep-partial"] * keep_partial)],
                      capsys)
    assert code in (0, 1, 2), err
    assert data.read_bytes() == before
    for line in err.splitlines():
        assert line.startswith(("error: ", "warning: ", "score: ")), err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("error: "), err
    assert not [p for p in work.rglob("*.tmp")], err


def test_date_problems_of_a_skipped_table_are_neither_recorded_nor_printed(folder, model_dir, capsys, monkeypatch):
    """With two jobs reading runs batches ahead of writing; with a Parquet row group written before the bad
    row, the run scores again without that table, and what it printed the first time is not printed again."""
    from pipeline.scoring import outputs

    def dated(path, rows, broken_line=None):
        with open(path, "w", encoding="utf-8") as handle:
            for i in range(1, rows + 1):
                handle.write("{broken\n" if i == broken_line else
                             json.dumps({"text": f"{path.stem} licence {i} for terbium.", "date": "soon"}) + "\n")
        return path

    bad, good = dated(folder / "bad.jsonl", 7000, broken_line=6001), dated(folder / "good.jsonl", 30)
    monkeypatch.setattr(sources, "HOLD_BYTES", 0)  # the bad table streams: its rows' dates are read first
    monkeypatch.setattr(outputs, "ROW_GROUP", 1000)
    for jobs, order, out in (("1", [bad, good], "o.jsonl"), ("2", [bad, good], "o.jsonl"),
                             ("1", [good, bad], "o.parquet")):  # the last one scores again
        code, err = score([*order, "-o", folder / out, "--model", model_dir, "--no-split", "--jobs", jobs,
                           "--batch-size", "500"], capsys)
        assert code == 1, err
        record = json.loads((folder / f"{out}.run.json").read_text())
        assert record["paragraphs"] == 30 and record["date_problems"] == 30, record["date_problems"]
        assert all("good.jsonl" in p for p in record["date_problem_examples"])
        warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
        assert len(warnings) == metadata.MAX_WARNINGS + 1 and "more documents" in warnings[-1], err
        assert len(set(warnings)) == len(warnings) and all("good.jsonl:" in w for w in warnings[:-1]), err


def test_a_jsonl_file_with_a_byte_order_mark_and_blank_lines_is_read(folder, model_dir, capsys):
    path = folder / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "MOFCOM tightened export licences."}\n\n{"text": "The Party met."}\n')
    code, err = score([path, "-o", folder / "o.csv", "--model", model_dir], capsys)
    assert code == 0 and pd.read_csv(folder / "o.csv")["doc_id"].tolist() == ["bom.jsonl:1", "bom.jsonl:2"], err


def test_an_existing_output_keeps_its_permissions_its_symlink_and_its_write_protection(folder, model_dir, capsys,
                                                                                        tmp_path):
    """Replacing an output by rename reset a 0600 file (now holding article text) to 0644, turned a `latest.csv`
    symlink into a plain file (its target kept the old run), and replaced a 0444 file without a word."""
    article = folder / "in" / ARTICLE.name
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "2026-12-01.csv").write_text("prev\n")
    (tmp_path / "latest.csv").symlink_to(runs / "2026-12-01.csv")
    private, kept = tmp_path / "private.csv", tmp_path / "keep.csv"
    private.write_text("secret\n")
    private.chmod(0o600)
    kept.write_text("protected\n")
    kept.chmod(0o444)
    for output in (tmp_path / "latest.csv", private):
        code, err = score([article, "-o", output, "--model", model_dir, "--include-text"], capsys)
        assert code == 0, err
    assert (tmp_path / "latest.csv").is_symlink() and "paragraph_id" in (runs / "2026-12-01.csv").read_text()
    assert private.stat().st_mode & 0o777 == 0o600 and "paragraph_id" in private.read_text()
    code, err = score([article, "-o", kept, "--model", model_dir], capsys)
    assert code == 2 and kept.read_text() == "protected\n"
    one_error(err, f"{kept}: is read-only; refusing to replace it")


def test_a_symlinked_subfolder_of_an_input_folder_is_scored_and_a_loop_ends(folder, model_dir, capsys, tmp_path):
    """`score in/` left out the files of `in/2024 -> ../archive2024` silently (exit 0), while `in/**/*.txt` read
    them."""
    archive = tmp_path / "archive2024"
    archive.mkdir()
    shutil.copy(ARTICLES / "seeds" / "001_7a7fa9385e29f0b9.txt", archive / "b.txt")
    (folder / "in" / "2024").symlink_to(archive)
    (archive / "loop").symlink_to(folder / "in")  # a link back up: each real folder is read once
    out = tmp_path / "out.csv"
    code, err = score([folder / "in", "-o", out, "--model", model_dir], capsys)
    assert code == 0, err
    assert {doc.split(":")[0] for doc in pd.read_csv(out)["doc_id"]} == {ARTICLE.name, "rows.csv", "2024/b.txt"}


def test_a_folders_hidden_files_and_subfolders_are_left_out_as_a_glob_leaves_them(tmp_path):
    """A folder read `.notes.txt`, `._page.txt` (macOS's copy of a file's attributes) and `.git/` as articles,
    while a glob of the same folder skipped them."""
    for name in ("a.txt", ".notes.txt", "._a.txt", ".git/HEAD.txt", "sub/b.md", ".cache/c.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("MOFCOM tightened export licences.\n", encoding="utf-8")
    by_folder = [p.relative_to(tmp_path).as_posix() for p in inputs.expand([str(tmp_path)])]
    by_glob = [p.relative_to(tmp_path).as_posix() for p in inputs.expand([f"{tmp_path}/**/*.*"])]
    assert by_folder == by_glob == ["a.txt", "sub/b.md"]
