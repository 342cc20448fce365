"""Fixture documents built by the tests themselves: a two-column broker PDF with running header, footer
and page numbers, a scanned (image-only) PDF, and a Word memo with header, footer, list and table.

The PDF is written with fpdf2 the way awkward real generators do it: lines of the two columns interleaved
in the content stream, the footer drawn before the body and the header after it, a word hyphenated across
a line break, a compound broken at its own hyphen, and a paragraph running on from page 1 to page 2.
"""
from __future__ import annotations

from pathlib import Path

HEADER_LEFT = "MERIDIAN METALS RESEARCH"
HEADER_RIGHT = "Rare Earths Weekly"
DISCLAIMER = "For institutional investors only. Not investment advice."
TITLE = "Beijing tightens heavy rare earth exports"
# "tight": a paragraph set without space above it (only the short line before it ends the last one).
# "|" marks a forced line break after a hyphen (the hyphen is printed, the word continues on the next line).
PARAGRAPHS = [
    ("body", "China's commerce ministry said on Monday that exporters of dysprosium and terbium will need a "
             "separate licence for every shipment from June, tightening the controls it introduced last year."),
    ("body", "Magnet makers in Japan and Germany hold about two months of inventory. Several told us they "
             "have applied for new licen-|ces but have had no answer, and terbium oxide rose eleven percent."),
    ("heading", "Reform at the top"),
    ("body", "China Northern Rare Earth named a new general manager and will merge two smelting units, part "
             "of the state-|owned enterprise reform that Beijing wants finished by the end of next year."),
    ("body", "The group's Party committee held a study session on the plenum and pledged to strengthen "
             "political discipline at its mines in Baotou."),
    ("body", "Baowu, the largest state-owned steel group, opened a smart factory in Wuhan that grades slabs "
             "with machine vision and expects automation to cut energy use per tonne by a fifth."),
    ("heading", "Risks"),
    ("body", "A tailings dam at the Bayan Obo mine was closed for inspection after heavy rain. Output could "
             "fall by a tenth in the third quarter if the closure lasts into July, which would tighten supply "
             "of light rare earths just as the new export controls begin to bite on overseas buyers."),
    ("tight", "We keep our overweight rating on Lynas and Iluka, which gain from any shortage outside China."),
    ("heading", "Outlook"),
    ("body", "Prices should stay firm until the first licences are granted. We will update our forecasts "
             "after the ministry publishes the application rules."),
]
BODY_SENTENCES = [
    "tightening the controls it introduced last year.",
    "have applied for new licences but have had no answer",
    "part of the state-owned enterprise reform that Beijing wants finished",
    "Output could fall by a tenth in the third quarter if the closure lasts into July, which would tighten "
    "supply of light rare earths just as the new export controls begin to bite on overseas buyers.",
]

# A5 portrait, in points
WIDTH, HEIGHT, MARGIN, GUTTER = 420.0, 595.0, 40.0, 20.0
COLUMN = (WIDTH - 2 * MARGIN - GUTTER) / 2
LEADING, SIZE = 15.0, 11.5


def _wrap(pdf, text: str, width: float) -> list[str]:
    """Greedy word wrap; a '|' after a hyphen forces a break there."""
    lines, line = [], ""
    for word in text.split(" "):
        parts = word.split("|")
        for i, part in enumerate(parts):
            candidate = f"{line} {part}" if line else part
            if line and pdf.get_string_width(candidate) > width:
                lines.append(line)
                candidate = part
            line = candidate
            if i < len(parts) - 1:  # forced break after the printed hyphen
                lines.append(line)
                line = ""
    if line:
        lines.append(line)
    return lines


def _layout(pdf) -> list[list[tuple[float, float, str, str]]]:
    """Body lines per page as (x, y, style, text), filled column by column."""
    top_first, top, bottom = 120.0, 70.0, HEIGHT - 60.0
    pages: list[list] = [[]]
    column, y = 0, top_first
    for number, (kind, text) in enumerate(PARAGRAPHS):
        if kind != "tight" and number:
            y += LEADING * 0.8  # paragraph spacing
        style = "B" if kind == "heading" else ""
        pdf.set_font("Helvetica", style, SIZE + (1 if style else 0))
        if kind == "heading" and y + 3 * LEADING > bottom:  # keep a heading with its paragraph
            y = bottom + 1
        for line in _wrap(pdf, text, COLUMN):
            if y + LEADING > bottom:
                column += 1
                if column == 2:
                    pages.append([])
                    column = 0
                y = top_first if len(pages) == 1 else top
            pages[-1].append((MARGIN + column * (COLUMN + GUTTER), y, style, line))
            y += LEADING
    return pages


def broker_pdf(path: Path) -> Path:
    """A two-page, two-column broker note (see the module docstring)."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(WIDTH, HEIGHT))
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", "", SIZE)
    pages = _layout(pdf)
    for number, lines in enumerate(pages, 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "", 8)
        pdf.text(MARGIN, HEIGHT - 30, DISCLAIMER)
        pdf.text(WIDTH - MARGIN - pdf.get_string_width(f"Page {number} of {len(pages)}"), HEIGHT - 30,
                 f"Page {number} of {len(pages)}")
        if number == 1:
            pdf.set_font("Helvetica", "B", 17)
            pdf.text(MARGIN, 95, TITLE)
        left = [line for line in lines if line[0] == MARGIN]
        right = [line for line in lines if line[0] != MARGIN]
        for row in range(max(len(left), len(right))):  # interleaved: left line, right line, ...
            for x, y, style, text in [c[row] for c in (left, right) if row < len(c)]:
                pdf.set_font("Helvetica", style, SIZE + (1 if style else 0))
                pdf.text(x, y, text)
        pdf.set_font("Helvetica", "", 8)
        pdf.text(MARGIN, 30, HEADER_LEFT)
        pdf.text(WIDTH - MARGIN - pdf.get_string_width(HEADER_RIGHT), 30, HEADER_RIGHT)
    pdf.output(str(path))
    return path


def scanned_pdf(path: Path, pages: int = 2, with_text_page: bool = False) -> Path:
    """Pages that are only pictures of text (what a scanner makes), with no text layer; optionally after
    one ordinary page of text (a scan appended to a typed note)."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    pdf = FPDF(unit="pt", format=(WIDTH, HEIGHT))
    if with_text_page:
        pdf.add_page()
        pdf.set_font("Helvetica", "", SIZE)
        pdf.text(MARGIN, 80, "MOFCOM tightened export licences for terbium, the scanned annex says.")
    for number in range(pages):
        image = Image.new("L", (600, 850), 255)
        draw = ImageDraw.Draw(image)
        for row in range(20):
            draw.text((40, 40 + row * 35), f"Scanned line {row} of page {number + 1}: export licences", fill=0)
        pdf.add_page()
        pdf.image(image, x=0, y=0, w=WIDTH, h=HEIGHT)
    pdf.output(str(path))
    return path


MEMO_HEADER = "Meridian Metals Research - internal memo"
MEMO_FOOTER = "Confidential: do not forward outside the desk."
MEMO = [
    ("Title", "Heavy rare earth licences: what changes in June"),
    (None, "The commerce ministry will require a separate licence for every shipment of dysprosium and "
           "terbium from June. Japanese magnet makers hold about two months of stock."),
    ("Heading 1", "What we expect"),
    ("List Bullet", "Approvals to take at least six weeks for the first shipments."),
    ("List Bullet", "Spot prices for terbium oxide to rise further before the rules start."),
    (None, "China Northern Rare Earth will merge two smelting units as part of the reform of state-owned "
           "enterprises."),
]


def memo_docx(path: Path) -> Path:
    """A Word memo: title, heading, bullets, a table, running header and footer (python-docx)."""
    import docx

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = MEMO_HEADER
    section.footer.paragraphs[0].text = MEMO_FOOTER
    for style, text in MEMO:
        document.add_paragraph(text, style=style)
    table = document.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Element", (0, 1): "Licence from",
                         (1, 0): "Dysprosium", (1, 1): "June shipments"}.items():
        table.cell(r, c).text = text
    document.add_paragraph("Our view: the controls tighten supply for overseas buyers.")
    document.save(str(path))
    return path


CHINESE_PARAGRAPHS = ["包钢集团党委召开理论学习中心组学习会议，深入学习贯彻习近平新时代中国特色社会主义思想。",
                      "商务部宣布对部分稀土相关物项实施出口管制，企业须申请出口许可证。",
                      "中国北方稀土推进混合所有制改革，优化公司治理结构。"]


def chinese_pdf(path: Path, per_line: int = 20) -> Path:
    """A text PDF of CHINESE_PARAGRAPHS in Adobe's built-in STSong-Light (no font file needed), each wrapped
    every `per_line` characters as Chinese typesetting wraps, with no space at the break."""
    ops, y = ["BT", "/F1 12 Tf"], 780.0
    for paragraph in CHINESE_PARAGRAPHS:
        for start in range(0, len(paragraph), per_line):
            line = "".join(f"{ord(c):04X}" for c in paragraph[start:start + per_line])
            ops.append(f"1 0 0 1 72 {y:.1f} Tm <{line}> Tj")
            y -= 14
        y -= 30
    content = "\n".join(ops + ["ET"]).encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
               b"/Contents 5 0 R >>",
               b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
               b"/DescendantFonts [6 0 R] >>",
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
               b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
               b"/Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R /DW 1000 >>",
               b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
               b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    path.write_bytes(out)
    return path


def tracked_docx(path: Path) -> Path:
    """A Word document whose first paragraph ends in a tracked insertion not yet accepted, and holds a tracked
    deletion, as memos circulate."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    paragraph = document.add_paragraph("MOFCOM said ")
    paragraph._p.append(parse_xml(
        f'<w:del {nsdecls("w")} w:id="1" w:author="Desk" w:date="2025-01-01T00:00:00Z"><w:r>'
        '<w:delText xml:space="preserve">on Monday </w:delText></w:r></w:del>'))
    paragraph._p.append(parse_xml(
        f'<w:ins {nsdecls("w")} w:id="2" w:author="Desk" w:date="2025-01-01T00:00:00Z"><w:r>'
        '<w:t xml:space="preserve">it tightened export licences for dysprosium and terbium.</w:t></w:r></w:ins>'))
    document.add_paragraph("Baowu Steel opened a research centre for electrical steel.")
    document.save(path)
    return path
