"""PDF and Word input on files the tests build (two-column broker note, scan, memo), and files of other
kinds named for what they are instead of being read as text."""
import gzip
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.scoring.inputs import READ_SUFFIXES
from tests import documents
from tests.conftest import REPO


def score(args, capsys):
    code = main(["score", *map(str, args)])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("documents")
    return {"broker": documents.broker_pdf(folder / "broker.pdf"),
            "scan": documents.scanned_pdf(folder / "scan.pdf"),
            "partly": documents.scanned_pdf(folder / "partly.pdf", with_text_page=True),
            "memo": documents.memo_docx(folder / "memo.docx")}


def scored(path, model_dir, tmp_path, capsys, *extra):
    out = tmp_path / "out.parquet"
    code, err = score([path, "-o", out, "--model", model_dir, "--include-text", *extra], capsys)
    assert code == 0, err
    return pd.read_parquet(out), err


def test_two_column_pdf_reads_in_column_order_with_page_furniture_marked(made, model_dir, tmp_path, capsys):
    rows, _ = scored(made["broker"], model_dir, tmp_path, capsys)
    body = rows[rows["kind"] != "furniture"]
    furniture = rows.loc[rows["kind"] == "furniture", "text"].tolist()
    assert rows["kind"].iloc[0] == "title" and rows["text"].iloc[0] == documents.TITLE
    # every paragraph whole and in reading order, although the file draws the two columns line by line
    starts = [text.split(": ", 1)[-1][:25] for _, text in documents.PARAGRAPHS if _ != "heading"]
    assert [text[:25] for text in body["text"].iloc[1:].str.replace(r"^[\w ]+: ", "", regex=True)] == starts
    joined = " ".join(body["text"])
    for sentence in documents.BODY_SENTENCES:  # mended hyphenation, rejoined column and page breaks
        assert sentence in joined, sentence
    assert "licen-" not in joined and "licen ces" not in joined and "state-owned enterprise" in joined
    # running header, footer disclaimer and page numbers: furniture on every page, never inside a paragraph
    assert sorted(furniture) == sorted([documents.HEADER_LEFT, documents.HEADER_RIGHT, documents.DISCLAIMER,
                                        "Page 1 of 2", documents.HEADER_LEFT, documents.HEADER_RIGHT,
                                        documents.DISCLAIMER, "Page 2 of 2"])
    assert not any(marker in joined for marker in ("MERIDIAN", "Page 1", "institutional investors"))
    licence = body[body["text"].str.contains("separate licence for every shipment")].iloc[0]
    assert licence["export"] == 1


def test_word_memo_keeps_title_lists_and_table_with_header_and_footer_as_furniture(made, model_dir, tmp_path, capsys):
    rows, _ = scored(made["memo"], model_dir, tmp_path, capsys)
    assert rows.iloc[0][["kind", "text"]].tolist() == ["title", documents.MEMO[0][1]]
    assert rows.loc[rows["kind"] == "furniture", "text"].tolist() == [documents.MEMO_HEADER, documents.MEMO_FOOTER]
    texts = rows["text"].tolist()
    assert "What we expect: Approvals to take at least six weeks for the first shipments." in texts
    assert "Spot prices for terbium oxide to rise further before the rules start." in texts
    assert "Dysprosium; June shipments" in texts
    assert texts[-3] == "Our view: the controls tighten supply for overseas buyers."


def test_scanned_pdf_is_reported_as_such_and_a_partly_scanned_one_warns(made, model_dir, tmp_path, capsys):
    code, err = score([made["scan"], "-o", tmp_path / "o.csv", "--model", model_dir], capsys)
    assert code == 1
    assert f"{made['scan']}: scanned PDF: 2 page(s) of images with no text layer; run OCR" in err
    rows, err = scored(made["partly"], model_dir, tmp_path, capsys)
    assert "page(s) 2, 3 are images with no text layer (scanned?)" in err
    assert rows["text"].str.contains("export licences for terbium").any()


def test_pdf_and_word_from_standard_input_and_in_folders(made, model_dir, tmp_path):
    for name in ("broker", "memo"):
        out = tmp_path / f"{name}.csv"
        done = subprocess.run([sys.executable, "-m", "pipeline", "score", "-", "-o", str(out), "--model",
                               str(model_dir)], input=made[name].read_bytes(), capture_output=True, cwd=REPO)
        assert done.returncode == 0, done.stderr
        assert (pd.read_csv(out)["doc_id"] == "stdin").all() and len(pd.read_csv(out)) > 5
    folder = made["broker"].parent
    out = tmp_path / "folder.csv"
    done = subprocess.run([sys.executable, "-m", "pipeline", "score", str(folder), "-o", str(out), "--model",
                           str(model_dir)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1  # the scan fails, the rest is scored
    # ids are relative to the folder that found them (issue 15: stable under the working directory)
    assert set(pd.read_csv(out)["doc_id"]) == {made[k].relative_to(folder).as_posix() for k in ("broker", "partly", "memo")}


def damaged(made, folder):
    """Broken or protected documents, each with the start of the message it must give."""
    from fpdf import FPDF

    locked = FPDF()
    locked.add_page()
    locked.set_font("Helvetica", size=12)
    locked.cell(text="Secret export licence plans.")
    locked.set_encryption(owner_password="owner", user_password="reader")
    locked.output(str(folder / "locked.pdf"))
    (folder / "cut.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    (folder / "cut.docx").write_bytes(made["memo"].read_bytes()[:3000])
    empty = __import__("docx").Document()
    empty.save(str(folder / "empty.docx"))
    return {"locked.pdf": "encrypted PDF: it needs a password", "cut.pdf": "cannot read PDF (",
            "cut.docx": "a damaged Word document (its ZIP package is truncated or corrupt)", "empty.docx": "Word document has no text"}


def test_damaged_encrypted_and_empty_documents_are_named(made, model_dir, tmp_path, capsys):
    expected = damaged(made, tmp_path)
    code, err = score([*(tmp_path / name for name in expected), "-o", tmp_path / "o.csv", "--model", model_dir],
                      capsys)
    assert code == 1
    lines = err.strip().splitlines()
    for name, message in expected.items():
        assert any(line.startswith(f"error: {tmp_path / name}: {message}") for line in lines), (name, err)


def other_kinds(folder):
    """Real files of kinds nothing here reads, each with the description the message must give."""
    files = {}
    with zipfile.ZipFile(folder / "bundle.zip", "w") as package:
        package.writestr("a.txt", "MOFCOM tightened export licences.")
    files["bundle.zip"] = "a ZIP archive"
    shutil.copy(folder / "bundle.zip", folder / "notes.txt")  # the name says text, the bytes say ZIP
    files["notes.txt"] = "a ZIP archive"
    with zipfile.ZipFile(folder / "prices.xlsx", "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("xl/workbook.xml", "<workbook/>")
    files["prices.xlsx"] = "an Excel workbook (.xlsx)"
    Image.new("RGB", (40, 20), "white").save(folder / "chart.png")
    files["chart.png"] = "a PNG image"
    Image.new("RGB", (40, 20), "white").save(folder / "photo.txt", format="JPEG")
    files["photo.txt"] = "a JPEG image"
    shutil.copy(sys.executable, folder / "tool")
    files["tool"] = "an ELF executable"
    (folder / "memo.rtf").write_text(r"{\rtf1\ansi MOFCOM tightened export licences.}")
    files["memo.rtf"] = "an RTF document"
    (folder / "memo.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    files["memo.doc"] = "a legacy Microsoft Office file"
    (folder / "article.txt.gz").write_bytes(gzip.compress(b"MOFCOM tightened export licences."))
    files["article.txt.gz"] = "a gzip-compressed file"
    (folder / "report.pdf").write_text("<html><body>404 Not Found</body></html>")
    files["report.pdf"] = "named .pdf but not a PDF"
    (folder / "diagram.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>export</text></svg>')
    files["diagram.svg"] = "an image (.svg)"
    return files


def test_files_of_other_kinds_are_named_and_skipped(model_dir, tmp_path, capsys):
    files = other_kinds(tmp_path)
    good = tmp_path / "good.txt"
    good.write_text("MOFCOM tightened export licences for terbium.")
    out = tmp_path / "out.csv"
    code, err = score([*(tmp_path / name for name in files), good, "-o", out, "--model", model_dir], capsys)
    assert code == 1 and f"{len(files)} input(s) failed" in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == len(files)
    for name, description in files.items():
        line = next(line for line in lines if line.startswith(f"error: {tmp_path / name}: "))
        assert description in line and line.endswith("(skipped)"), line
    assert pd.read_csv(out)["doc_id"].tolist() == [good.name]  # a file named directly is known by its name


def test_other_kinds_on_standard_input_are_named(model_dir, tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, format="PNG")
    done = subprocess.run([sys.executable, "-m", "pipeline", "score", "-", "-o", str(tmp_path / "o.csv"),
                           "--model", str(model_dir)], input=buffer.getvalue(), capture_output=True, cwd=REPO)
    assert done.returncode == 1
    assert "<stdin>: a PNG image, not a document this tool reads" in done.stderr.decode()


def test_furniture_named_by_an_extractor_is_marked_even_when_it_looks_like_a_bullet():
    from pipeline.stages.split import split_article
    paragraphs = split_article("Baotou output rose.\n\n- 3 -\n\nExports fell.", frozenset({"- 3 -"}))
    assert [p["kind"] for p in paragraphs] == ["body", "furniture", "body"]


def test_files_of_other_kinds_in_a_folder_are_named_too(model_dir, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    files = other_kinds(folder)
    (folder / "good.txt").write_text("MOFCOM tightened export licences for terbium.")
    (folder / "readme.json").write_text('{"notes": "text of another kind: left alone"}')
    code, err = score([folder, "-o", tmp_path / "out.csv", "--model", model_dir], capsys)
    for name, description in files.items():
        read = Path(name).suffix in READ_SUFFIXES  # read by its name, refused by its bytes, as when named directly
        prefix = f"error: {folder / name}: " if read else f"skipped: {folder / name}: "
        line = next((line for line in err.splitlines() if line.startswith(prefix)), "")
        assert description in line, (name, err)
    assert "readme.json" not in err
    assert pd.read_csv(tmp_path / "out.csv")["doc_id"].tolist() == ["good.txt"]


def test_a_chinese_pdf_keeps_its_paragraphs_and_joins_wrapped_lines_without_spaces(model_dir, tmp_path, capsys):
    """Chinese sentence ends (。！？) close a paragraph, and a wrapped line joins the next with no space between
    Han characters: the PDF scores as the same text in a .txt file does."""
    pdf = documents.chinese_pdf(tmp_path / "zh.pdf")
    text = tmp_path / "zh.txt"
    text.write_text("\n\n".join(documents.CHINESE_PARAGRAPHS), encoding="utf-8")
    out = tmp_path / "o.csv"
    code, err = score([pdf, text, "-o", out, "--model", model_dir, "--include-text"], capsys)
    assert code == 0, err
    rows = pd.read_csv(out)
    from_pdf, from_text = rows[rows["doc_id"] == "zh.pdf"], rows[rows["doc_id"] == "zh.txt"]
    assert len(from_pdf) == len(documents.CHINESE_PARAGRAPHS) and not from_pdf["text"].str.contains(" ").any()
    columns = ["text", "ideology", "reform", "export", "technology", "risk"]
    pd.testing.assert_frame_equal(from_pdf[columns].reset_index(drop=True), from_text[columns].reset_index(drop=True))


def test_a_word_documents_tracked_insertions_are_read_and_deletions_are_not(model_dir, tmp_path, capsys):
    memo = documents.tracked_docx(tmp_path / "tracked.docx")
    out = tmp_path / "o.csv"
    code, err = score([memo, "-o", out, "--model", model_dir, "--include-text"], capsys)
    assert code == 0, err
    rows = pd.read_csv(out)
    assert rows["text"].tolist() == ["MOFCOM said it tightened export licences for dysprosium and terbium.",
                                     "Baowu Steel opened a research centre for electrical steel."]
    assert rows["export"].iloc[0] == 1


WRAPPED = ["Prices of neodymium oxide rose for a third week, according to the exchange in Baotou, as buyers "
           "restocked before the holiday.",
           "Analysts said the curbs will be felt first by buyers of dysprosium and terbium, and they expect that the "
           "Ministry of Commerce will keep approvals slow through the winter.",
           "MOFCOM export licences for heavy rare earths remain slow to be approved, and several analysts now expect "
           "China Northern Rare Earth to cut output in the fourth quarter."]


def test_a_pdf_wrapped_at_a_wide_line_pitch_keeps_lines_that_start_with_a_name_in_their_paragraph(tmp_path, capsys,
                                                                                                model_dir):
    """At a pitch wider than pdfminer's line margin every line is its own layout box; a wrapped line that starts
    with a capital (a name: 'Ministry of Commerce', 'China Northern') cut the paragraph, and the PDF scored
    otherwise than the same text in a .txt file."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for paragraph in WRAPPED:
        pdf.multi_cell(0, 6, paragraph, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
    pdf.output(str(tmp_path / "wrapped.pdf"))
    lines = FPDF()  # the same paragraphs must wrap before a capital for this test to mean anything
    lines.add_page()
    lines.set_font("Helvetica", size=11)
    wrapped = [line for p in WRAPPED for line in lines.multi_cell(0, 6, p, dry_run=True, output="LINES")]
    assert sum(line[:1].isupper() for line in wrapped) > len(WRAPPED)
    (tmp_path / "wrapped.txt").write_text("\n\n".join(WRAPPED), encoding="utf-8")
    out = tmp_path / "o.csv"
    code, err = score([tmp_path / "wrapped.pdf", tmp_path / "wrapped.txt", "-o", out, "--model", model_dir,
                       "--include-text"], capsys)
    assert code == 0, err
    rows = pd.read_csv(out)
    from_pdf, from_text = rows[rows["doc_id"] == "wrapped.pdf"], rows[rows["doc_id"] == "wrapped.txt"]
    columns = ["text", "kind", "ideology", "reform", "export", "technology", "risk"]
    pd.testing.assert_frame_equal(from_pdf[columns].reset_index(drop=True), from_text[columns].reset_index(drop=True))
