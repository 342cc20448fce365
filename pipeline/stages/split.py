"""Stage `split`: raw articles -> one row per paragraph, with kind, stable id and labels.

The same `split_article` prepares training data and text to be scored, so the
model always sees paragraphs cut the same way.
"""
from __future__ import annotations

import argparse
import codecs
import hashlib
import itertools
import re
import sys
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from pipeline import language
from pipeline import rules as rules_mod
from pipeline.config import InputError, atomic_path, files_under, write_json
from pipeline.corpus import labels as labels_mod
from pipeline.text import CJK, TOKEN_HAN, clean, markdown_text

ARTICLE_SUFFIXES = (".txt", ".md")
_BULLET = re.compile(r"^\s*(?:(?:[-•*▪◦‣]|–)\s+)+")
MAX_CHARS = 4000  # longer blocks (a page dumped on one line) are cut at sentence ends, nothing dropped
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])")  # Chinese sentences end without a space
_SPACES = re.compile(r"\s*")
_FURNITURE = re.compile(
    r"^(?:leave a (?:reply|comment)|spread the word|share (?:this|on)\b|categories\s*:|tags?\s*:"
    r"|(?:subscribe|sign up)\b|(?:read more|see also|most read)\b\s*(?:articles|stories)?\s*:?"
    # 'Related', 'Related stories:', 'Related: <links>'; not news that starts with the word ('Related measures ...')
    r"|related(?:\s+(?:articles|stories|posts|news|coverage|reading|research|information|content|links))?\s*(?::|$)"
    r"|your email address will not be published|required fields are marked|save my name"
    r"|(?:comment|name|email|website)\s*\*?\s*:?$|(?:post comment|print(?: this page)?|back to top)$"
    r"|©|copyright\b|all rights reserved|(?:photo|image|credit|source)\s*:|(?:additional )?(?:reporting|editing|writing|interview) by\b"
    r"|this (?:article|story) (?:has been|was) (?:amended|updated|corrected)|weather\s*:"
    r"|we use cookies|this (?:website|site) uses cookies|comments \(\d+\)"
    # an ad slot's label, a breadcrumb's 'Home', a line of separators only ('|', '»', '***'): glued to the
    # next paragraph as its heading otherwise ("Advertisement: The company said ...")
    r"|(?:advertisement|sponsored(?: content)?|首页)\s*$|[\W_]+$|当前位置|您的位置"
    # Chinese sites' share, print and close buttons, counters, registration numbers and credit lines
    r"|(?:关闭窗口|关闭|打印本页|打印|收藏|分享)\s*(?:$|[】\]])|.{0,8}(?:ICP备|公网安备)|相关(?:新闻|文章|报道)\s*(?::|$)"
    r"|阅读\s*[\d.]+\s*万?\s*$|点赞(?:\s*在看)?\s*$|在看\s*$|(?:编辑|校对|文|摄影|图)\s*/|图片来源"
    r"|(?:release date|date of issue|published|updated|time|date|editor|author|source|views|proofreader"
    r"|reviewed by|stock code|stock abbreviation|announcement no\.?)\s*:"
    # a date line: the date (and time) alone, or before a '|' or a source/editor/author field; not news led by a date
    r"|\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*(?:$|\||(?:source|editor|author|views|来源|作者|编辑|字号)\s*:)"
    # Chinese pages (text is NFKC-normalised and Simplified by now, so ':' is ASCII)
    r"|(?:来源|责任编辑|编辑|作者|记者|通讯员|发布时间|发布日期|时间|日期|浏览次数|阅读量|点击数|访问量|证券代码|证券简称"
    r"|公告编号|字号)\s*:|版权所有|字号\s*大|返回顶部|打印本页|关闭窗口|分享到|【纠错】|扫一扫|上一篇|下一篇|相关阅读|相关链接"
    r"|特此公告\W*$|\d{4}年\d{1,2}月\d{1,2}日\s*(?:\d{1,2}:\d{2}(?::\d{2})?)?\s*$)",
    re.IGNORECASE,
)
# Bylines ("By Harriet Cole | PERTH") and masthead lines ("Client note | Metals | 3 May"); case matters.
# The possessive `++` keeps a long run of capitals from being tried as every split into names (exponential).
# A byline is no sentence: "By March, Baotou Steel will have cut output by a fifth." is news.
_BYLINE = re.compile(r"^By (?:[A-Z][\w.'-]++ ?){1,4}(?:$|[|,;·•]| and | in )")
_SENTENCE = re.compile(r"[.!?][\"')\u2019\u201d]?$")
_MASTHEAD = re.compile(r"^[^.!?]{0,120}\s\|\s[^.!?]{0,120}$")


_OPENING = "([【〔（「『《<\u3000 "  # furniture is often bracketed: (责任编辑:张伟), 【关闭窗口】


def _is_furniture(text: str) -> bool:
    return bool(_FURNITURE.match(text) or _FURNITURE.match(text.lstrip(_OPENING)) or _MASTHEAD.match(text)
                or _BYLINE.match(text) and not _SENTENCE.search(text) and len(text.split()) <= 20)
_SECTION_WORDS = {"highlights", "key takeaways", "key points", "summary", "in brief", "at a glance"}


def _lines(raw: str, chunk: int = 1 << 20) -> Iterator[str]:
    """`raw.splitlines()`, produced lazily a chunk at a time (a file of millions of short lines is never
    held as one list). Chunks end just after a '\n', so no line and no '\r\n' is cut in two."""
    start = 0
    while start < len(raw):
        end = raw.find("\n", start + chunk) + 1 if start + chunk < len(raw) else 0
        end = end or len(raw)
        yield from (raw[start:end] if start or end < len(raw) else raw).splitlines()
        start = end


# a line of hard-wrapped prose that stops this many columns short of the wrap width ends its paragraph
WRAP_SLACK = 15
_ENDS_SENTENCE = re.compile(r"[.!?:;。！？；:\"'”’)]\s*$")


def _width(line: str) -> int:
    """A line's width in columns: a Chinese character takes two, as in the fixed-width fonts text is wrapped for."""
    line = line.rstrip()
    return len(line) + len(CJK.findall(line))


def _joined(lines: list[str], wrapped: bool) -> str:
    """A block's lines as one text, with a space; in hard-wrapped text none between two lines of Chinese, where
    the wrap fell inside a word or number ("专业化整" + "合", "下降4" + ".2个百分点"). (A blank-line separated
    text's lines are kept apart by a space, Chinese too: its line breaks were made by hand, as in a Q and A.)"""
    if not wrapped:
        return " ".join(lines)
    out = lines[0]
    for line in lines[1:]:
        out += ("" if _WIDE.search(out[-8:]) and _WIDE.search(line[:8]) else " ") + line
    return out


_WIDE = re.compile(f"[\u3000-\u303f{TOKEN_HAN}\uff00-\uffef]")  # Han, CJK and full-width punctuation


def _hard_wrapped(raw: str) -> tuple[bool, int]:
    """(whether text without blank lines is prose wrapped at a fixed width, that width): most of its lines are
    near the longest usual one and none passes it, and most of those end in mid-sentence with the next line
    going on in lower case (or in Chinese). A file of one paragraph per line ends its lines at sentence ends,
    and a list of headlines starts each line with a capital."""
    lines = [line.rstrip() for line in itertools.islice(_lines(raw), 2000)]
    lengths = [_width(line) for line in lines]
    if len(lengths) < 5:
        return False, 0
    width = sorted(lengths)[int(len(lengths) * 0.9)]
    if not 40 <= width <= 120 or max(lengths) > width + 3:  # a wrap column is never passed
        return False, width
    full = [i for i, size in enumerate(lengths) if size >= width - WRAP_SLACK]
    open_ends = [i for i in full if not _ENDS_SENTENCE.search(lines[i])]
    going_on = sum(1 for i in open_ends if i + 1 < len(lines) and _CONTINUES.match(lines[i + 1].lstrip()))
    return len(full) >= 0.5 * len(lengths) and len(open_ends) >= 0.5 * len(full) and going_on >= 0.5 * len(open_ends), \
        width


_CONTINUES = re.compile(f"[a-z0-9(,]|{_WIDE.pattern}")  # how a wrapped line's next line goes on


def _blocks(raw: str) -> Iterator[tuple[bool, str]]:
    """Cut raw text into (is_bullet, text) blocks.

    Without blank lines every line is a block, unless the text is prose hard-wrapped at a fixed width (a
    plain-text e-mail or wire copy): a paragraph then ends at an indented line, or after a line well short of
    the width. With blank lines, a blank line ends a block, a bullet starts one, and
    other wrapped lines are joined.
    """
    blank_separated = any(not line.strip() for line in _lines(raw))
    wrapped, width = (False, 0) if blank_separated else _hard_wrapped(raw)
    block: tuple[bool, list[str]] | None = None
    continuing = False
    for line in _lines(raw):
        if not line.strip():
            continuing = False
            continue
        bullet = bool(_BULLET.match(line))
        if wrapped and continuing and not bullet and line[:1] in (" ", "\t", "\u3000"):  # indented: a new paragraph
            continuing = False
        if continuing and (blank_separated or wrapped) and not bullet:
            block[1].append(line.strip())
        else:
            if block is not None:
                yield block[0], _joined(block[1], wrapped)
            block = (bullet, [_BULLET.sub("", line).strip()])
        continuing = not wrapped or _width(line) >= width - WRAP_SLACK  # a short line ends a wrapped paragraph
    if block is not None:
        yield block[0], _joined(block[1], wrapped)


def _section(text: str) -> bool:
    """'Highlights', 'Key takeaways:' and the like: a heading that introduces a bullet list."""
    return text.lower().rstrip(":") in _SECTION_WORDS


def _size(text: str) -> float:
    """Length in words; a Chinese character counts as half a word (Chinese words average ~2 characters)."""
    return len(text.split()) + len(CJK.findall(text)) / 2


# Several sentences or clauses (English, or Chinese punctuation between characters): content, not a heading.
_CLAUSES = re.compile(rf"(?:[a-z]{{2}}\.|[?!:;])\s|[{TOKEN_HAN}][。,;:!?][{TOKEN_HAN}\d]")
_CLOSED = re.compile(r"[.:;,!\"')。]$")


def _is_heading(text: str) -> bool:
    words = _size(text)
    if _section(text):
        return True
    if _CLAUSES.search(text):  # several sentences or clauses: content, not a heading
        return False
    if text.endswith("?"):
        return words <= 5
    return words <= 10 and not _CLOSED.search(text)


def _fold(headings: list[str], text: str) -> str:
    parts = [h if h[-1] in "?!:" else h + ":" for h in headings]
    return " ".join(parts + [text])


def _bounded(blocks: Iterable[tuple[bool, str]]) -> Iterator[tuple[bool, str]]:
    """Cut blocks longer than MAX_CHARS into pieces at sentence ends (or spaces, or anywhere).

    Linear in the block's length: sentences are found lazily and cut by index, never by re-slicing the rest.
    """
    for bullet, block in blocks:
        if len(block) <= MAX_CHARS:
            yield bullet, block
            continue
        piece: list[str] = []  # sentences of the piece being built, joined by single spaces
        size = -1  # its length once joined
        for sentence in _sentences(block):
            start = 0
            while len(sentence) - start > MAX_CHARS:  # one huge "sentence": cut at a space near the limit
                cut = sentence.rfind(" ", start + MAX_CHARS // 2, start + MAX_CHARS)
                cut = cut if cut >= 0 else start + MAX_CHARS
                if piece:
                    yield bullet, " ".join(piece)
                    piece, size = [], -1
                yield bullet, sentence[start:cut]
                start = _SPACES.match(sentence, cut).end()
            if start:
                sentence = sentence[start:]
            if piece and size + 1 + len(sentence) > MAX_CHARS:
                yield bullet, " ".join(piece)
                piece, size = [], -1
            piece.append(sentence)
            size += 1 + len(sentence)
        if piece:
            yield bullet, " ".join(piece)


def _sentences(block: str) -> Iterator[str]:
    """`_SENTENCE_END.split(block)`, lazily."""
    start = 0
    for match in _SENTENCE_END.finditer(block):
        yield block[start:match.start()]
        start = match.end()
    yield block[start:]


def split_article(raw: str, furniture: Iterable[str] = ()) -> list[dict]:
    """Split one article's text into paragraphs: [{"position", "kind", "text", "bullet"}]."""
    return list(iter_paragraphs(raw, furniture))


def iter_paragraphs(raw: str, furniture: Iterable[str] = ()) -> Iterator[dict]:
    """`split_article`, lazily: memory stays small however many paragraphs the text has.

    `furniture`: lines known to be page furniture (running headers, footers, page numbers found by a
    PDF or Word extractor); blocks with that text are marked furniture like the ones the rules find.
    """
    known = {clean(_BULLET.sub("", line).strip()) for line in furniture}  # as `_blocks` reads them
    pending: list[str] = []  # headings waiting to be folded into the paragraph they introduce
    pending_size = 0
    in_highlights = False
    seen_body = False
    positions = itertools.count()

    def paragraph(kind: str, text: str, bullet: bool) -> dict:
        return {"kind": kind, "text": text, "bullet": bullet, "position": next(positions)}

    def flush_headings() -> Iterator[dict]:
        nonlocal pending_size
        yield from (paragraph("body", h, False) for h in pending)
        pending.clear()
        pending_size = 0

    for index, (bullet, block) in enumerate(_bounded(_blocks(raw))):
        text = clean(block)
        if not text:
            continue
        if _is_furniture(text) or text in known:
            yield from flush_headings()
            yield paragraph("furniture", text, bullet)
            continue
        if not bullet and index == 0 and not _section(text) and _size(text) <= 25 \
                and not text.endswith((".", "。")):
            yield paragraph("title", text, False)
            continue
        if not bullet and _is_heading(text):
            in_highlights = _section(text)
            if pending_size + len(text) > MAX_CHARS:  # a run of short lines, not headings: keep paragraphs bounded
                yield from flush_headings()
            pending.append(text)
            pending_size += len(text) + 1
            continue
        if text.endswith("?"):
            kind = "question"
        elif bullet and (in_highlights or not seen_body):
            kind = "highlight"
        else:
            kind = "body"
        if not bullet:
            seen_body, in_highlights = True, False
        yield paragraph(kind, _fold(pending, text), bullet)
        pending.clear()
        pending_size = 0
    yield from flush_headings()


def render(paragraphs: list[dict]) -> str:
    """Paragraphs back to text in the splitter's own input format (blank lines, bullets marked)."""
    return "\n\n".join(("- " if p["bullet"] else "") + p["text"] for p in paragraphs)


def paragraph_ids(article_id: str, texts: Iterable[str]) -> list[str]:
    """Ids from the article and the paragraph's own text, so edits elsewhere never move them."""
    return list(iter_paragraph_ids(article_id, texts))


def iter_paragraph_ids(article_id: str, texts: Iterable[str]) -> Iterator[str]:
    """`paragraph_ids`, lazily (a repeated text gets -2, -3, ... in order)."""
    seen: Counter[str] = Counter()
    for text in texts:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        seen[digest] += 1
        yield f"{article_id}-{digest}" + (f"-{seen[digest]}" if seen[digest] > 1 else "")


def decode(data: bytes, name) -> str:
    """UTF-8 (with or without BOM), or UTF-16 when it starts with a UTF-16 BOM (Windows exports)."""
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        encoding = "UTF-16" if exc.encoding.startswith("utf-16") else "UTF-8"
        offset = exc.start + len(data) - len(exc.object)  # utf-8-sig reports offsets after the BOM
        raise InputError(name, f"not valid {encoding} (byte 0x{exc.object[exc.start]:02x} at offset {offset})"
                               f"{_likely_encoding(data) if encoding == 'UTF-8' else ''}") from exc


def _likely_encoding(data: bytes) -> str:
    """A hint for text saved in a Chinese or Windows code page: Chinese if GB18030 or Big5 reads it as Han
    characters that stand among Han characters, not glued to Latin letters as a Windows-1252 curly quote read
    as GB18030 is ("MOFCOM抯"); GB18030 reads much Big5 too, so both are named. Else Windows-1252."""
    head = data[:65536]
    for codec in ("gb18030", "big5"):
        try:
            text = head.decode(codec)
        except UnicodeDecodeError:
            continue
        han = [i for i, ch in enumerate(text) if CJK.match(ch)]
        glued = sum(1 for i in han if any(0 <= j < len(text) and text[j].isascii() and text[j].isalpha()
                                          for j in (i - 1, i + 1)))
        if len(han) >= 2 and glued <= 0.3 * len(han):
            return ("; it looks Chinese (GBK/GB18030, or Big5 for Traditional): convert it to UTF-8, e.g. "
                    "iconv -f GB18030 -t UTF-8 (or -f BIG5)")
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        return ""
    return "; it may be Windows-1252: convert it to UTF-8, e.g. iconv -f CP1252 -t UTF-8"


def text_from_bytes(data: bytes, name) -> str:
    """Decoded text of an article; refuse undecodable, binary (NUL) or empty input, naming it."""
    text = decode(data, name)
    if "\x00" in text:
        raise InputError(name, "contains NUL bytes; not a text article")
    if not text.strip():
        raise InputError(name, "article is empty")
    return text


def read_article(path: Path) -> str:
    """Read an article as UTF-8 (a BOM is allowed) or BOM-marked UTF-16; Markdown without its heading markers
    (training and scoring both read files here, so their paragraphs and ids agree)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read article ({exc.strerror or exc})") from exc
    text = text_from_bytes(data, path)
    return markdown_text(text) if path.suffix.lower() == ".md" else text


def article_files(root: Path) -> list[Path]:
    """Every article under `root`, in a stable order; ids (file stems) must be unique."""
    if not root.is_dir():
        raise InputError(root, "articles directory not found")
    files = [p for p in files_under(root) if p.suffix.lower() in ARTICLE_SUFFIXES]
    if not files:
        raise InputError(root, "no .txt or .md articles found")
    stems = Counter(p.stem for p in files)
    dupes = [p for p in files if stems[p.stem] > 1]
    if dupes:
        raise InputError(dupes[0], f"article id '{dupes[0].stem}' is used by more than one file")
    return files


def build_paragraphs(root: Path) -> pd.DataFrame:
    """All articles under `root` as one paragraphs table; source is the top-level folder."""
    rows, contents = [], {}
    for path in article_files(root):
        relative = path.relative_to(root)
        source = relative.parts[0] if len(relative.parts) > 1 else "new"
        paragraphs = split_article(read_article(path))
        content = tuple(p["text"] for p in paragraphs if p["kind"] != "furniture")
        if not content:
            raise InputError(path, "article has no paragraphs of content")
        if content in contents:  # one article under two names: its paragraphs would sit in two CV folds
            raise InputError(path, f"has the same paragraphs as article {contents[content]}; keep one of the two")
        contents[content] = relative.as_posix()
        ids = paragraph_ids(path.stem, [p["text"] for p in paragraphs])
        for pid, p in zip(ids, paragraphs):
            rows.append({"article_id": path.stem, "source": source, "paragraph_id": pid,
                         "position": p["position"], "kind": p["kind"], "text": p["text"]})
    table = pd.DataFrame(rows)
    table["lang"] = language.detect_all(table["text"].tolist()) if len(table) else []
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals split", description=__doc__)
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--rules", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args(argv)

    paragraphs = build_paragraphs(args.articles)
    gold = labels_mod.read_labels(args.labels)
    rules = rules_mod.load_rules(args.rules)
    table, report = labels_mod.join(paragraphs, gold, partial(rules_mod.apply, rules))
    with atomic_path(args.out) as tmp:
        table.to_parquet(tmp, index=False)
    write_json(args.report, report)
    print(f"split: {len(table)} paragraphs from {table['article_id'].nunique()} articles; "
          f"{report['gold']} gold-labelled, {report['weak']} weakly labelled", file=sys.stderr)
    if report["orphan_labels"]:
        print(f"warning: {args.labels}: {len(report['orphan_labels'])} labels name paragraphs that no longer "
              f"exist (listed in {args.report})", file=sys.stderr)
    if report["unlabelled"]:
        print(f"warning: {len(report['unlabelled'])} paragraphs have no gold label (listed in {args.report}; "
              "`policy-signals label export` prepares them for labelling)", file=sys.stderr)
    return 0
