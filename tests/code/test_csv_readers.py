"""Every CSV the pipeline reads (labels, gold sets, both catalog readers, a filled label sheet) goes through
config.read_csv: a missing, non-UTF-8, empty or malformed file is one InputError line naming it."""
import re

import pytest

from pipeline.config import InputError
from pipeline.corpus import datacard, labelling, labels
from pipeline.reporting import metadata
from pipeline.signals import SIGNALS
from pipeline.stages import goldsets

READERS = {  # reader, file name, a valid header, what the message calls the file
    "labels": (labels.read_labels, "labels.csv", "paragraph_id," + ",".join(SIGNALS) + ",text", "labels file"),
    "gold set": (goldsets.read, "gold.csv", "text," + ",".join(SIGNALS), "gold set"),
    "score catalog": (lambda path: metadata.read_catalog(path, []), "catalog.csv", "doc_id,date,source", "catalog"),
    "corpus catalog": (datacard.read_catalog, "catalog.csv", "article_id,genre", "catalog"),
    "label sheet": (labelling._read_sheet, "sheet.csv", "paragraph_id," + ",".join(SIGNALS), "labelled CSV"),
}
BROKEN = {
    "missing": (None, "{what} not found"),
    "cp1252": ("{header}\nCaf\u00e9 d\u00e9j\u00e0\n".encode("cp1252"),
               'is not UTF-8 text (saved in a Windows code page?); save it as "CSV UTF-8"'),
    "empty": (b"", "cannot read {what} (No columns to parse from file)"),
    "unclosed quote": ('{header}\n"never closed\n'.encode(), "cannot read {what} (Error tokenizing data."),
}


@pytest.mark.parametrize("case", BROKEN)
@pytest.mark.parametrize("reader", READERS)
def test_a_bad_csv_is_one_line_naming_the_file(tmp_path, reader, case):
    read, name, header, what = READERS[reader]
    content, problem = BROKEN[case]
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content.replace(b"{header}", header.encode()))
    with pytest.raises(InputError, match=re.escape(f"{path}: {problem.format(what=what)}")):
        read(path)


@pytest.mark.parametrize("reader", READERS)
def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path, reader):
    read, name, header, _ = READERS[reader]
    path = tmp_path / name
    row = ",".join(["a-1", *["0"] * (header.count(",") - 1), "1"]) if reader != "gold set" else \
        ",".join(["Some text", *["0"] * (len(SIGNALS) - 1), "1"])
    path.write_text("\ufeff" + header + "\n" + row + "\n", encoding="utf-8")
    first = header.split(",")[0]
    frame = read(path)  # the readers that check their columns refuse a file whose first column is "\ufeffdoc_id"
    assert first in getattr(frame, "columns", [first]), frame  # the sheet reader, which does not
