"""`policy-signals score` on real mixed inputs: formats, ids, explanations, atomic output, failures."""
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pipeline import bundle, workers
from pipeline.cli import main
from pipeline.scoring.score import _flag_last, _placed
from pipeline.scoring.scorer import Scorer, score_texts
from pipeline.signals import SIGNALS
from pipeline.text import clean
from tests.conftest import ARTICLES, LABELS, REPO

PAGE = """<html><head><script>document.write('tracking')</script><title>Licences</title></head><body>
<nav><a href="/">Home</a> | <a href="/news">News</a></nav><article><h1>MOFCOM tightens terbium licences</h1>
<p>The commerce ministry said on Monday it would require licences for terbium exports, raising supply risks
for Japanese magnet makers.</p><p>Separately, China Northern Rare Earth appointed a new general manager and
merged two smelting units.</p></article><footer>Copyright 2026 Example News</footer></body></html>"""


@pytest.fixture
def mixed(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for source in sorted((ARTICLES / "seeds").glob("00[01]*.txt")):
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "sub" / "page.html").write_text(PAGE)
    pd.DataFrame({"id": ["r1", "r2"], "text": ["Baowu opened an AI-driven smart factory with a digital twin.",
                                               "Leave a Reply"]}).to_csv(folder / "rows.csv", index=False)
    (folder / "broken.txt").write_bytes("Baogang’s plan".encode("cp1252"))
    return folder


def score(args, capsys):
    code = main(["score", *map(str, args)])
    return code, capsys.readouterr().err


def test_mixed_folder_scores_into_parquet_with_summary_and_names_the_corrupt_file(mixed, model_dir, tmp_path, capsys):
    out, summary = tmp_path / "out.parquet", tmp_path / "summary.parquet"
    code, err = score([mixed, "-o", out, "--summary", summary, "--model", model_dir, "--id-column", "id",
                       "--include-text"], capsys)
    assert code == 1
    assert "broken.txt: not valid UTF-8" in err and "1 input(s) failed" in err
    rows = pd.read_parquet(out)
    assert rows.groupby("doc_id").size().to_dict() == {  # ids relative to the folder given
        "000_4351a19fe1e57ad0.txt": 14, "001_7a7fa9385e29f0b9.txt": 9, "r1": 1, "r2": 1, "sub/page.html": 3}
    assert list(rows.columns[:5]) == ["doc_id", "paragraph_id", "position", "kind", "text"]
    page = rows[rows["doc_id"].str.endswith("page.html")]
    assert "tracking" not in " ".join(page["text"]) and "Home" not in " ".join(page["text"])
    licence = page[page["text"].str.contains("terbium exports")].iloc[0]
    assert licence["export"] == 1 and licence["explain_export"]
    named = [term.rsplit(" (", 1)[0] for term in licence["explain_export"].split("; ")]
    assert all(n.strip("'").lower() in licence["text"].lower() for n in named), named
    assert (rows.loc[rows["export"] == 0, "explain_export"] == "").all()
    per_doc = pd.read_parquet(summary).set_index("doc_id")
    assert per_doc.loc["r1", "paragraphs"] == 1 and per_doc.loc["r1", "n_technology"] == 1
    assert per_doc["max_p_export"].between(0, 1).all()


def test_paragraph_ids_match_training_ids(model_dir, tmp_path, capsys, table):
    """Every bundled article scores with exactly its ids in data/labels.csv, named as a file or through its
    folder, from any working directory."""
    labelled = pd.read_csv(LABELS)["paragraph_id"]
    seeds = ARTICLES / "seeds"
    for args, cwd in (([seeds], REPO), ([seeds / "000_4351a19fe1e57ad0.txt", seeds / "003_c9d44043f7960dc5.txt"], REPO),
                      (["seeds"], ARTICLES), (["../seeds"], ARTICLES / "team")):
        out = tmp_path / "out.csv"
        done = subprocess.run([sys.executable, "-m", "pipeline", "score", *map(str, args), "-o", str(out),
                               "--model", str(model_dir)], cwd=cwd, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        scored = pd.read_csv(out)
        for doc_id, rows in scored.groupby("doc_id"):
            stem = doc_id.removesuffix(".txt")
            assert "/" not in doc_id and list(rows["paragraph_id"]) == \
                list(table[0].loc[table[0]["article_id"].eq(stem), "paragraph_id"]), doc_id
            assert set(rows["paragraph_id"]) == set(labelled[labelled.str.startswith(stem + "-")])
        assert scored["doc_id"].nunique() == (len(args) if len(args) > 1 else 5)


def test_tables_in_different_folders_never_collide(model_dir, tmp_path, capsys):
    for folder, text in (("a", "MOFCOM tightened export licences."), ("b", "The Party committee met.")):
        (tmp_path / folder).mkdir()
        pd.DataFrame({"text": [text]}).to_csv(tmp_path / folder / "t.csv", index=False)
    out, summary = tmp_path / "o.csv", tmp_path / "s.csv"
    code, _ = score([tmp_path / "a" / "t.csv", tmp_path / "b" / "t.csv", "-o", out, "--summary", summary,
                     "--model", model_dir], capsys)
    assert code == 0
    assert pd.read_csv(out)["doc_id"].tolist() == ["a/t.csv:1", "b/t.csv:1"]
    assert pd.read_csv(summary)["doc_id"].tolist() == ["a/t.csv:1", "b/t.csv:1"]
    code, _ = score([tmp_path, "-o", tmp_path.parent / "o2.csv", "--model", model_dir], capsys)
    assert pd.read_csv(tmp_path.parent / "o2.csv")["doc_id"].tolist() == ["a/t.csv:1", "b/t.csv:1"]


def test_cli_python_api_and_bundle_give_identical_probabilities(mixed, model_dir, tmp_path, capsys):
    texts = ["MOFCOM tightened export licences for terbium.", "The Party committee studied Xi's speech.",
             "Leave a Reply", "A tailings dam breach halted output at the Baotou mine."]
    (tmp_path / "t.csv").write_text(pd.DataFrame({"text": texts}).to_csv(index=False))
    out = tmp_path / "o.jsonl"
    assert score([tmp_path / "t.csv", "-o", out, "--model", model_dir, "--no-split"], capsys)[0] == 0
    cli = pd.read_json(out, lines=True)[[f"p_{s}" for s in SIGNALS]].to_numpy()
    api = score_texts(texts, model=str(model_dir))[[f"p_{s}" for s in SIGNALS]].to_numpy()
    fitted, _ = bundle.load(model_dir)
    # the bundle's scoring tables add the word and char blocks' sums apart: the last bits may differ
    np.testing.assert_allclose(api, fitted.predict_proba(texts), rtol=0, atol=1e-12)
    np.testing.assert_allclose(cli, api, rtol=0, atol=1e-15)  # JSON round trip of float64 is exact


def test_a_table_row_an_api_call_and_a_document_paragraph_are_scored_as_the_same_repaired_text(model_dir, tmp_path,
                                                                                                 capsys):
    """Training reads text repaired by the splitter (mojibake, NFKC, Traditional characters, link notes), so a
    row scored as it is, an API call and the model's own Pipeline read it the same way."""
    dirty = ["Baogangâ€™s board approved the merger of two smelting units.",
             "包鋼集團黨委召開理論學習中心組學習會議，傳達學習重要講話精神。",
             "ＭＯＦＣＯＭ tightened export licences (opens in a new tab) for terbium and dysprosium."]
    repaired = [clean(t) for t in dirty]
    assert all(a != b for a, b in zip(dirty, repaired))
    pd.DataFrame({"text": dirty}).to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "doc.txt").write_text("\n\n".join(dirty))
    outs = {}
    for name, extra in (("rows.csv", ["--no-split"]), ("doc.txt", [])):
        outs[name] = tmp_path / f"{name}.jsonl"
        assert score([tmp_path / name, "-o", outs[name], "--model", model_dir, "--include-text", *extra], capsys)[0] == 0
    rows, doc = (pd.read_json(outs[n], lines=True) for n in ("rows.csv", "doc.txt"))
    assert rows["text"].tolist() == doc["text"].tolist() == repaired
    assert rows["lang"].tolist() == doc["lang"].tolist() == ["en", "zh", "en"]
    columns = [f"p_{s}" for s in SIGNALS]
    np.testing.assert_allclose(rows[columns].to_numpy(), doc[columns].to_numpy(), rtol=0, atol=1e-15)
    api = score_texts(dirty, model=str(model_dir))
    np.testing.assert_allclose(api[columns].to_numpy(), rows[columns].to_numpy(), rtol=0, atol=1e-15)
    fitted, _ = bundle.load(model_dir)
    np.testing.assert_allclose(fitted.predict_proba(dirty), fitted.predict_proba(repaired), rtol=0, atol=1e-15)
    np.testing.assert_allclose(api[columns].to_numpy(), fitted.predict_proba(dirty), rtol=0, atol=1e-12)


def test_output_formats_and_stdin(model_dir, tmp_path):
    for suffix in (".csv", ".jsonl", ".parquet"):
        out = tmp_path / f"o{suffix}"
        done = subprocess.run([sys.executable, "-m", "pipeline", "score", "-", "-o", str(out), "--model", str(model_dir)],
                              input="MOFCOM tightened export licences.\n\nLeave a Reply\n", text=True,
                              capture_output=True, cwd=REPO)
        assert done.returncode == 0, done.stderr
        frame = {".csv": pd.read_csv, ".jsonl": lambda p: pd.read_json(p, lines=True), ".parquet": pd.read_parquet}[suffix](out)
        assert frame["doc_id"].tolist() == ["stdin", "stdin"] and frame["export"].tolist() == [1, 0]
        assert "\r" not in done.stderr  # no progress bar when stderr is not a terminal
    note = tmp_path / "note.md"  # Markdown from standard input reads as the same file does
    note.write_text("# MOFCOM tightens export licences\n\n## Background\n\nBaogang merged two units.\n", encoding="utf-8")
    piped = subprocess.run([sys.executable, "-m", "pipeline", "score", "-", "--stdin-format", ".md", "-o",
                            str(tmp_path / "md.csv"), "--model", str(model_dir), "--include-text"],
                           input=note.read_text(encoding="utf-8"), text=True, capture_output=True, cwd=REPO)
    assert piped.returncode == 0, piped.stderr
    named = subprocess.run([sys.executable, "-m", "pipeline", "score", str(note), "-o", str(tmp_path / "f.csv"),
                            "--model", str(model_dir), "--include-text"], capture_output=True, text=True, cwd=REPO)
    assert named.returncode == 0, named.stderr
    assert pd.read_csv(tmp_path / "md.csv")["text"].tolist() == pd.read_csv(tmp_path / "f.csv")["text"].tolist() == \
        ["MOFCOM tightens export licences", "Background: Baogang merged two units."]  # a heading leads its paragraph


def test_a_terminal_sees_a_progress_bar_and_tqdm_is_imported_only_for_it(model_dir, tmp_path):
    import os
    import pty

    probe = ("import sys\nfrom pipeline.cli import main\ncode = main(sys.argv[1:])\n"
             "print('tqdm imported' if 'tqdm' in sys.modules else 'no tqdm', file=sys.stdout)\nsys.exit(code)\n")
    args = [sys.executable, "-c", probe, "score", "-", "-o", str(tmp_path / "o.csv"), "--model", str(model_dir)]
    piped = subprocess.run(args, input="MOFCOM tightened export licences.\n", text=True, capture_output=True, cwd=REPO)
    assert piped.returncode == 0 and piped.stdout == "no tqdm\n", piped
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(args, input="MOFCOM tightened export licences.\n", text=True, stdout=subprocess.PIPE,
                              stderr=follower, cwd=REPO)
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0 and done.stdout == "tqdm imported\n", done
    assert b"1 paragraphs" in seen and b"\r" in seen, seen


def test_failures_leave_no_output_and_strict_stops(mixed, model_dir, tmp_path, capsys):
    out = tmp_path / "out.parquet"
    out.write_bytes(b"earlier result")
    code, err = score([mixed, "-o", out, "--model", model_dir, "--strict"], capsys)
    assert code == 2 and "broken.txt: not valid UTF-8" in err
    assert out.read_bytes() == b"earlier result" and list(tmp_path.glob(".out.parquet.*")) == []
    code, err = score([tmp_path / "missing", "-o", out, "--model", model_dir], capsys)
    assert code == 1 and "missing: no such file or directory" in err
    code, err = score([mixed, "-o", tmp_path / "out.xlsx", "--model", model_dir], capsys)
    assert code == 2 and "output must end in .parquet, .csv, .jsonl" in err


def test_table_errors_are_named(model_dir, tmp_path, capsys):
    (tmp_path / "t.csv").write_text("body\nsome text\n")
    code, err = score([tmp_path / "t.csv", "-o", tmp_path / "o.csv", "--model", model_dir], capsys)
    assert code == 1 and "t.csv: no column 'text' (columns: body)" in err
    (tmp_path / "e.jsonl").write_text("")
    code, err = score([tmp_path / "e.jsonl", "-o", tmp_path / "o.csv", "--model", model_dir], capsys)
    assert code == 1 and "e.jsonl" in err


def test_two_jobs_give_the_same_rows_as_one(mixed, model_dir, tmp_path, capsys):
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    score([mixed, "-o", one, "--model", model_dir, "--batch-size", "5"], capsys)
    score([mixed, "-o", two, "--model", model_dir, "--batch-size", "5", "--jobs", "2"], capsys)
    pd.testing.assert_frame_equal(pd.read_parquet(one), pd.read_parquet(two))


def test_the_last_batches_are_known_before_they_are_scored():
    """Two jobs score the last two items in this process, so it does not wait on a worker's queue."""
    assert list(_flag_last(iter("abcd"), 2)) == [("a", False), ("b", False), ("c", True), ("d", True)]
    assert list(_flag_last(iter("a"), 2)) == [("a", True)]
    assert list(_flag_last(iter("ab"), 0)) == [("a", False), ("b", False)]


def test_at_the_tail_a_worker_with_room_is_given_the_next_batch_before_this_process_scores_its_own():
    """One worker (two jobs): it holds up to two batches; at the tail this process scores a batch once the
    worker holds one, after queueing the following one for it (else the worker stood idle ~0.08 s)."""
    assert _placed(busy=0, helpers=1, last=False) == (False, False)
    assert _placed(busy=1, helpers=1, last=False) == (False, False)
    assert _placed(busy=2, helpers=1, last=False) == (True, False)
    assert _placed(busy=0, helpers=1, last=True) == (False, False)
    assert _placed(busy=1, helpers=1, last=True) == (True, True)
    assert _placed(busy=2, helpers=1, last=True) == (True, False)
    assert _placed(busy=3, helpers=2, last=True) == (True, True)


def _pipes_can_grow() -> bool:
    try:
        return int(open("/proc/sys/fs/pipe-max-size").read()) >= 1 << 20
    except OSError:
        return False


@pytest.mark.skipif(not _pipes_can_grow(), reason="pipe sizes are set on Linux, up to /proc/sys/fs/pipe-max-size")
def test_worker_pipes_hold_a_whole_batch():
    from concurrent.futures import ProcessPoolExecutor
    from fcntl import F_GETPIPE_SZ, fcntl

    with ProcessPoolExecutor(max_workers=1) as pool:
        before = fcntl(pool._call_queue._writer.fileno(), F_GETPIPE_SZ)
        workers.widen_pipes(pool)
        sizes = [fcntl(q._writer.fileno(), F_GETPIPE_SZ) for q in (pool._call_queue, pool._result_queue)]
    assert before < 1 << 20 and sizes == [1 << 20, 1 << 20]


def test_explanations_are_exact_contributions(model_dir):
    scorer = Scorer.load(str(model_dir), explain_top=50)
    text = "MOFCOM tightened export licences for terbium shipments to Japan."
    row = scorer.score([text]).iloc[0]
    assert row["export"] == 1
    fitted, _ = bundle.load(model_dir)
    features = fitted[:-1].transform([text])
    j = SIGNALS.index("export")
    margin = features @ scorer.by_signal[j]
    estimator = fitted.named_steps["classify"].estimators_[j]
    np.testing.assert_allclose(margin + estimator.intercept_, estimator.decision_function(features))
    assert row["explain_export"].count(";") >= 2


def test_english_and_chinese_files_in_one_folder_score_with_their_language_ids_and_flags(model_dir, tmp_path,
                                                                                         capsys, table):
    """The bilingual case end to end: an English and a Chinese article and a table with a row of each, scored
    in one run (one job and two): each paragraph has the language, id and cut that `split` gives it, and each
    document its language in the summary."""
    folder = tmp_path / "in"
    folder.mkdir()
    english, chinese = ARTICLES / "seeds" / "000_4351a19fe1e57ad0.txt", \
        ARTICLES / "zh" / "z1-discipline-baogang-warning-education-2024.txt"
    for source in (english, chinese):
        (folder / source.name).write_bytes(source.read_bytes())
    pd.DataFrame({"id": ["en", "zh"], "text": [
        "MOFCOM tightened export licences for terbium and dysprosium shipments to Japanese buyers.",
        "商务部宣布对中重稀土相关物项实施出口管制，向境外出口须申请两用物项出口许可。"]}).to_csv(folder / "rows.csv",
                                                                                   index=False)
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.parquet"
        code, err = score([folder, "-o", out, "--model", model_dir, "--id-column", "id", "--jobs", jobs,
                           "--summary", tmp_path / f"summary{jobs}.csv"], capsys)
        assert code == 0, err
        outputs.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(*outputs)
    per_doc = [pd.read_csv(tmp_path / f"summary{jobs}.csv").set_index("doc_id")["lang"].to_dict() for jobs in "12"]
    assert per_doc[0] == per_doc[1] == {english.name: "en", chinese.name: "zh", "en": "en", "zh": "zh"}
    rows = outputs[0].set_index("doc_id")
    for source, lang in ((english, "en"), (chinese, "zh")):
        split = table[0][table[0]["article_id"].eq(source.stem)]
        scored = rows.loc[[source.name]]
        assert list(scored["paragraph_id"]) == list(split["paragraph_id"])
        assert list(scored["lang"]) == list(split["lang"])
        assert set(scored.loc[scored["kind"].eq("body"), "lang"]) == {lang}
    discipline = rows.loc[[chinese.name]]
    assert discipline["ideology"].sum() >= 3  # a Party-discipline warning-education conference
    assert discipline.loc[discipline["ideology"].eq(1), "explain_ideology"].str.contains("[\u4e00-\u9fff]").all()
    assert (rows.loc[["en", "zh"], "lang"].tolist(), rows.loc[["en", "zh"], "export"].tolist()) == (["en", "zh"], [1, 1])


def test_a_document_longer_than_a_batch_keeps_its_title_line_in_every_batch(model_dir, tmp_path, capsys):
    """A document of more paragraphs than --batch-size is cut into several batches; the title the splitter
    found in the first is every paragraph's title, so the output does not depend on the batch size."""
    body = [f"Baogang cut output at its Baotou mills, notice {i}." for i in range(30)]
    (tmp_path / "long.txt").write_text("Baogang Annual Compendium\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
    outputs = []
    for size in ("2000", "7"):
        out = tmp_path / f"o{size}.csv"
        assert main(["score", str(tmp_path / "long.txt"), "-o", str(out), "--model", str(model_dir),
                     "--batch-size", size]) == 0, capsys.readouterr().err
        outputs.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])
    assert outputs[1]["title"].eq("Baogang Annual Compendium").all()


def test_a_scheduler_without_the_dask_engine_is_refused(model_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["score", str(tmp_path), "-o", str(tmp_path / "o.csv"), "--scheduler", "tcp://127.0.0.1:1"])
    assert stopped.value.code == 2 and "--scheduler needs --engine dask" in capsys.readouterr().err


@pytest.mark.parametrize("texts, kwargs, problem", [
    (["MOFCOM tightened export licences.", "包钢集团党委召开会议。", None], {}, "texts[2] is None (NoneType), not a string"),
    (pd.Series(["MOFCOM tightened export licences.", None]), {}, "texts[1] is nan"),  # a blank CSV cell
    (["包钢集团".encode()], {}, "(bytes), not a string"),
    ([2025], {}, "texts[0] is 2025 (int), not a string"),
    ("MOFCOM tightened export licences.", {}, "not a str (for one text: [text]"),
    (pd.DataFrame({"text": ["MOFCOM tightened export licences."]}), {}, "not a DataFrame"),
    ({"text": ["MOFCOM tightened export licences."]}, {}, "not a dict"),  # its key was scored
    (None, {}, "not a NoneType"),
    (["MOFCOM tightened export licences."], {"explain_top": "3"}, "explain_top must be an integer >= 0"),
    (["MOFCOM tightened export licences."], {"explain_top": -1}, "explain_top must be an integer >= 0"),
])
def test_the_python_api_refuses_what_is_not_a_list_of_strings(model_dir, texts, kwargs, problem):
    """A missing value got another text's scores (pandas' factorize codes it -1, the last distinct text), and
    bytes, numbers or a bare string were scored as their repr or letter by letter."""
    with pytest.raises((TypeError, ValueError), match=re.escape(problem)):
        score_texts(texts, model=str(model_dir), **kwargs)


def test_the_python_api_takes_a_series_or_an_array_of_strings(model_dir):
    texts = ["MOFCOM tightened export licences for dysprosium.", "包钢集团党委召开理论学习中心组学习会议。"]
    expected = score_texts(texts, model=str(model_dir))
    for given in (pd.Series(texts), np.array(texts), iter(texts)):
        pd.testing.assert_frame_equal(score_texts(given, model=str(model_dir)), expected)
    pd.testing.assert_frame_equal(score_texts(texts, model=model_dir), expected)  # a Path: was an AttributeError
    with pytest.raises(TypeError, match="model must be a bundle directory"):
        score_texts(texts, model=None)


def test_a_registry_uri_with_no_store_is_named_and_no_store_is_made(tmp_path, monkeypatch, capsys):
    """Outside the project, with no MLFLOW_TRACKING_URI, MLflow would create an empty mlflow.db here and then
    report the model as not found."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    (tmp_path / "a.txt").write_text("MOFCOM tightened export licences.\n", encoding="utf-8")
    assert main(["score", "a.txt", "-o", "o.csv", "--model", "models:/policy-signals@champion"]) == 2
    assert f"no MLflow store at {tmp_path / 'mlflow.db'}" in capsys.readouterr().err
    assert not (tmp_path / "mlflow.db").exists()
