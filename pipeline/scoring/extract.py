"""Text of PDF and Word (.docx) documents, as paragraphs separated by blank lines for the splitter, with
the page furniture (running headers and footers, page numbers, repeated disclaimers) named apart.

PDF: pdfminer.six's layout analysis, which orders text by position (columns stay whole however the file
draws them); lines are rejoined into paragraphs, words hyphenated at a line end are mended, and a paragraph
cut by a column or page break is put back together. A PDF with no text layer (a scan) is refused as such.
Word: python-docx, body paragraphs, lists and tables in order; headers and footers are furniture.
"""
from __future__ import annotations

import io
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

from pipeline.config import InputError
from pipeline.text import TOKEN_HAN

ZONE = 0.09  # running headers and footers sit in the top and bottom 9% of a page
PAGE_NUMBER = re.compile(r"(?:page\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?", re.IGNORECASE)
_BULLET_START = re.compile(r"[•▪◦‣●■□\uf0b7\uf0a7]\s*")
_FULL = 0.75  # a line reaching this share of the text's width runs on to the next (wrapped, not ended short)
_SENTENCE_END = re.compile(r"[.!?:;。！？：；][\"'’”)\]」』）》]*$")  # English and Chinese sentence ends
_CJK_EDGE = re.compile(f"[\u3000-\u303f{TOKEN_HAN}\uff00-\uffef]")  # Han, CJK punctuation and full-width forms
_HYPHENATED = re.compile(r"(\w+)[-\u2010\u00ad]$")
_WORDS = re.compile(r"\w+(?:-\w+)*")
_CID = re.compile(r"\(cid:\d+\)")


class Extracted(NamedTuple):
    """A document's text (paragraphs separated by blank lines), its furniture lines, and notes for the user."""
    text: str
    furniture: frozenset[str]
    notes: tuple[str, ...] = ()


def _source(source: Path | bytes):
    return io.BytesIO(source) if isinstance(source, bytes) else source


def _reason(exc: Exception) -> str:
    """A parser's exception on one line."""
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message.splitlines()[0][:200] if message else 'damaged file'}"


# ---- PDF ---------------------------------------------------------------------------------------------

@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    font: tuple  # (size, bold) of its first character: a change starts a new paragraph (a heading)
    zone: bool  # in the top or bottom margin, where running headers and footers are
    wide: bool = False  # reaches across most of the page's text width: a wrapped line, not a heading or label


@dataclass
class _Para:
    lines: list[_Line]
    boundary: bool = True  # starts a layout box (so it may continue the paragraph cut by a column or page end)
    furniture: bool = False

    @property
    def font(self) -> tuple:
        return self.lines[0].font

    @property
    def last(self) -> str:
        return self.lines[-1].text


def _font(line) -> tuple:
    from pdfminer.layout import LTChar

    char = next((c for c in line if isinstance(c, LTChar)), None)
    if char is None:
        return (0, False)
    name = char.fontname.lower()
    return (char.size, "bold" in name or "black" in name or "heavy" in name)


def _same_font(a: tuple, b: tuple) -> bool:
    return a[1] == b[1] and abs(a[0] - b[0]) < 0.5


def _page_boxes(page) -> tuple[list[list[_Line]], bool]:
    """The lines of each text box of a page in reading order, and whether the page has pictures.

    Text that a PDF draws inside a form (a figure) is read only when the page has no other text, so a
    page wrapped whole in a form is read while the labels of charts are not."""
    from pdfminer.layout import LTFigure, LTImage, LTTextBox, LTTextLine

    def walk(container, figures: bool):
        for element in container:
            if isinstance(element, LTTextBox):
                yield element
            elif figures and isinstance(element, LTFigure):
                yield from walk(element, True)

    def pictures(container) -> bool:
        return any(isinstance(e, LTImage) or isinstance(e, LTFigure) and pictures(e) for e in container)

    boxes = []
    for element in list(walk(page, False)) or list(walk(page, True)):
        lines = [_Line(line.get_text().strip(), line.x0, line.x1, _font(line),
                       min(page.height - line.y1, line.y0) < ZONE * page.height)
                 for line in element if isinstance(line, LTTextLine) and line.get_text().strip()]
        if lines:
            boxes.append(lines)
    return boxes, pictures(page)


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.casefold().split()))


def _paragraphs(lines: list[_Line]) -> Iterator[_Para]:
    """Lines of one layout box cut into paragraphs: at a bullet, a change of font (a heading), or after a
    short line that ends a sentence."""
    left = min(line.x0 for line in lines)
    width = max(line.x1 for line in lines) - left
    para = None
    for line in lines:
        starts = para is None or bool(_BULLET_START.match(line.text)) \
            or not _same_font(line.font, para.lines[-1].font) \
            or (_SENTENCE_END.search(para.last) and para.lines[-1].x1 - left < _FULL * width)
        if starts:
            if para is not None:
                yield para
            para = _Para([line], boundary=para is None)
        else:
            para.lines.append(line)
    if para is not None:
        yield para


def _join(lines: list[str], vocabulary: Counter) -> str:
    """Lines of a paragraph as one line; 'licen-' + 'ces' -> 'licences' unless the document writes the
    hyphenated form ('state-' + 'owned' -> 'state-owned'); a soft hyphen always goes."""
    text = ""
    for line in lines:
        match = _HYPHENATED.search(text)
        if match and line[:1].islower():
            stem = match.group(1)
            word = line.split(" ", 1)[0].rstrip(".,;:!?)\"'’”")
            soft = text.endswith("\u00ad")
            keep = not soft and vocabulary[f"{stem}-{word}".casefold()] > vocabulary[f"{stem}{word}".casefold()]
            text = text[:-1] + ("-" if keep else "") + line
        elif text and (_CJK_EDGE.match(text[-1]) or _CJK_EDGE.match(line[:1])):
            text += line  # Chinese wraps without a space: none goes in between
        else:
            text = f"{text} {line}" if text else line
    return text


def _continues(previous: _Para, item: _Para) -> bool:
    """Whether `item`, first in its layout box, goes on with the paragraph before a column or page break (or
    before a line pitch that pdfminer boxes line by line): same font, the sentence unfinished, and it starts in
    lower case or `previous` is wrapped text (several lines, or one as wide as the text: not a heading or label)."""
    first = item.lines[0].text
    wrapped = len(previous.lines) > 1 or previous.lines[-1].wide
    return item.boundary and _same_font(item.font, previous.font) and not _SENTENCE_END.search(previous.last) \
        and not _BULLET_START.match(first) and (first[:1].islower() or wrapped)


def _mark_wide(lines: list[_Line]) -> None:
    """Mark the lines of one page's body that reach across `_FULL` of its text width (from its leftmost start)."""
    if lines:
        left = min(line.x0 for line in lines)
        width = max(line.x1 for line in lines) - left
        for line in lines:
            line.wide = line.x1 - left >= _FULL * width


def _bulleted(text: str) -> str:
    """A PDF bullet glyph as the '- ' marker the splitter knows."""
    match = _BULLET_START.match(text)
    return f"- {text[match.end():]}" if match else text


def pdf(source: Path | bytes, name) -> Extracted:
    """Paragraphs of a PDF's text layer, furniture found by position and repetition across pages."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    pages = []
    try:
        for page in extract_pages(_source(source), laparams=LAParams()):
            pages.append(_page_boxes(page))
    except PDFPasswordIncorrect as exc:
        raise InputError(name, "encrypted PDF: it needs a password to open") from exc
    except Exception as exc:  # pdfminer raises many kinds of errors on a damaged file
        raise InputError(name, f"cannot read PDF ({_reason(exc)})") from exc
    if not pages:
        raise InputError(name, "PDF has no pages")
    empty = [number for number, (boxes, _) in enumerate(pages, 1) if not boxes]
    scanned = [number for number in empty if pages[number - 1][1]]
    if len(empty) == len(pages):
        if scanned:
            raise InputError(name, f"scanned PDF: {len(pages)} page(s) of images with no text layer; "
                                   "run OCR on it first (e.g. ocrmypdf) to score it")
        raise InputError(name, "PDF has no text")

    # Furniture: a line in the top or bottom zone that recurs on at least half the pages (digits aside),
    # or that is a page number.
    seen = Counter(key for boxes, _ in pages
                   for key in {_furniture_key(line.text) for lines in boxes for line in lines if line.zone})
    needed = max(2, math.ceil(len(pages) / 2))

    def is_furniture(line: _Line) -> bool:
        return seen[_furniture_key(line.text)] >= needed or bool(PAGE_NUMBER.fullmatch(line.text))

    items: list[_Para] = []
    for boxes, _ in pages:  # each page's body, then its furniture (so a document's first block is its title)
        furniture, bodies = [], []
        for lines in boxes:
            flags = [line.zone and is_furniture(line) for line in lines]
            furniture += [_Para([line], furniture=True) for line, flag in zip(lines, flags) if flag]
            bodies.append([line for line, flag in zip(lines, flags) if not flag])
        _mark_wide([line for body in bodies for line in body])
        items += [para for body in bodies if body for para in _paragraphs(body)]
        items += furniture
    merged: list[_Para] = []
    previous = None  # the last body paragraph: one cut by a column or page end goes on in the next box
    for item in items:
        if not item.furniture and previous is not None and _continues(previous, item):
            previous.lines += item.lines
            continue
        merged.append(item)
        if not item.furniture:
            previous = item
    vocabulary = Counter(word.casefold() for item in merged for line in item.lines
                         for word in _WORDS.findall(line.text))
    texts = [_bulleted(_join([line.text for line in item.lines], vocabulary)) for item in merged]
    body = " ".join(t for t, item in zip(texts, merged) if not item.furniture)
    if len(_CID.findall(body)) * 8 > len(body) / 2:
        raise InputError(name, "PDF fonts have no Unicode map (text comes out as (cid:NN) codes); "
                               "run OCR on it first to score it")
    notes = (f"page(s) {', '.join(map(str, scanned))} are images with no text layer (scanned?): "
             "their text is not scored",) if scanned else ()
    return Extracted("\n\n".join(texts), frozenset(t for t, item in zip(texts, merged) if item.furniture), notes)


# ---- Word ----------------------------------------------------------------------------------------------

def _docx_blocks(parent, container) -> Iterator[str]:
    """Paragraphs and table rows of a body, header or footer in document order (content controls opened)."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            paragraph = Paragraph(child, parent)
            text = _docx_text(child).strip()
            if not text:
                continue
            properties = child.pPr
            listed = (properties is not None and properties.numPr is not None) or \
                (paragraph.style is not None and (paragraph.style.name or "").startswith("List"))
            yield f"- {text}" if listed else text
        elif child.tag == qn("w:tbl"):
            for row in Table(child, parent).rows:
                cells, seen = [], set()
                for cell in row.cells:  # a merged cell appears once per column it spans
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        cells.append(" ".join(_docx_text(cell._tc).split()))
                if any(cells):
                    yield "; ".join(c for c in cells if c)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _docx_blocks(parent, content)


def _docx_text(element) -> str:
    """The text Word shows for a paragraph or cell: its runs' text, tabs and breaks in order, tracked insertions
    included (python-docx's `.text` skips runs inside `w:ins`); deleted text is `w:delText`, left out."""
    from docx.oxml.ns import qn

    parts, paragraph = [], qn("w:p")
    shown = {qn("w:t"): None, qn("w:tab"): "\t", qn("w:br"): "\n", qn("w:cr"): "\n"}
    for node in element.iter(paragraph, *shown):
        if node.tag == paragraph:
            if parts:
                parts.append("\n")  # a cell's paragraphs, one per line
            continue
        parts.append(node.text or "" if shown[node.tag] is None else shown[node.tag])
    return "".join(parts)


def docx(source: Path | bytes, name) -> Extracted:
    """Paragraphs of a Word document; its headers and footers are furniture."""
    import docx as python_docx

    try:
        document = python_docx.Document(_source(source))
    except Exception as exc:  # python-docx raises zip, XML and key errors on a damaged file
        raise InputError(name, f"cannot read Word document ({_reason(exc)})") from exc
    headers: list[str] = []
    footers: list[str] = []
    for section in document.sections:
        for part, found in ((section.header, headers), (section.first_page_header, headers),
                            (section.even_page_header, headers), (section.footer, footers),
                            (section.first_page_footer, footers), (section.even_page_footer, footers)):
            if not part.is_linked_to_previous:
                found += [block for block in _docx_blocks(part, part._element) if block not in found]
    body = list(_docx_blocks(document, document.element.body))
    if not body:
        raise InputError(name, "Word document has no text")
    return Extracted("\n\n".join(body + headers + footers), frozenset(headers + footers))


EXTRACTORS = {"pdf": pdf, "docx": docx}
