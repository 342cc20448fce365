"""A dated example batch from the bundled articles: saved HTML pages, Markdown with front matter and a CSV.

    python -m pipeline.reporting.example example/inputs

Each article's date is the one its masthead or dateline gives in its opening lines ("Client note | Metals |
18 September 2025", "发布时间：2024-06-19"), not a date in its prose; an article that gives none stays undated. Its
source is its genre in data/catalog.csv (the outlet type it was written for) and its title
its title line, if any. The
articles go round-robin into the three formats, so one batch exercises every way metadata is read.
"""
from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

import pandas as pd
import yaml

from pipeline.config import InputError
from pipeline.reporting.metadata import parse_date
from pipeline.stages.split import article_files, read_article, split_article

DATA = Path(__file__).resolve().parents[2] / "data"
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE = re.compile(rf"\b(?:\d{{1,2}} {_MONTH},? \d{{4}}|{_MONTH} \d{{1,2}}, \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH} \d{{4}})\b"
                   r"|\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?")


# A date in prose ("formed in December 2021", "on 1 October 2024", "于2024年6月") is an event's, not the article's.
_EVENT = re.compile(r"(?:\b(?:in|on|since|from|until|till|by|to|of|after|before|during|between|and)\s+(?:the\s+)?"
                    r"|[于在自从至到截止]\s*)$", re.IGNORECASE)


def find_date(text: str, lines: int = 6) -> str | None:
    """The date a masthead ("Client note | Metals | 18 September 2025") or else a dateline ("NEW DELHI, June 2025
    (wire)") in an article's opening lines gives, as YYYY-MM-DD (a month alone gives its 1st). A date in the
    prose of those lines, or further down, is about an event, so an article without either stays undated."""
    opening = [line for line in text.split("\n") if line.strip()][:lines]
    mastheads = [line for line in opening if " | " in line]  # a masthead's date wins over a title's dateline
    for line in mastheads + opening:
        for match in _DATE.finditer(line):
            if not _EVENT.search(line[max(0, match.start() - 20):match.start()]):
                return parse_date(match.group(0))
    return None


def page(title: str | None, source: str, date: str | None, text: str) -> str:
    """A saved web page as a news site serves it: metadata in the head, paragraphs in an article."""
    paragraphs = "\n".join(f"<p>{html.escape(p.strip())}</p>" for p in text.split("\n") if p.strip())
    published = f'<meta property="article:published_time" content="{date}">' if date else ""
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title or '')}</title>\n"
            f"<meta property=\"og:site_name\" content=\"{html.escape(source)}\">{published}</head>\n"
            f"<body><nav><a href=\"/\">Home</a></nav><article>\n{paragraphs}\n</article>\n"
            "<footer>Example page built from a bundled article</footer></body></html>\n")


def build(out: Path) -> dict[str, int]:
    """Write the example batch under `out`; counts of documents per format and of dated ones."""
    catalog = pd.read_csv(DATA / "catalog.csv").set_index("article_id")["genre"]
    (out / "pages").mkdir(parents=True, exist_ok=True)
    (out / "notes").mkdir(parents=True, exist_ok=True)
    rows, counts = [], {"pages": 0, "notes": 0, "rows": 0, "dated": 0}
    for number, path in enumerate(article_files(DATA / "articles")):
        text = read_article(path).replace("\r\n", "\n")
        opening = split_article(text)[0]
        title = opening["text"] if opening["kind"] == "title" else None
        source, date = catalog.get(path.stem, "unknown outlet"), find_date(text)
        counts["dated"] += date is not None
        if number % 3 == 0:
            (out / "pages" / f"{path.stem}.html").write_text(page(title, source, date, text), encoding="utf-8")
            counts["pages"] += 1
        elif number % 3 == 1:
            block = yaml.safe_dump({k: v for k, v in (("date", date), ("source", source), ("title", title)) if v},
                                   allow_unicode=True, sort_keys=False, width=1000)
            (out / "notes" / f"{path.stem}.md").write_text(f"---\n{block}---\n{text}", encoding="utf-8")
            counts["notes"] += 1
        else:
            rows.append({"doc_id": path.stem, "date": date or "", "source": source, "title": title or "", "text": text})
            counts["rows"] += 1
    pd.DataFrame(rows).to_csv(out / "wire.csv", index=False, lineterminator="\n")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.reporting.example", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder to write the example inputs into")
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        raise InputError(args.out, "folder is not empty; choose a new one")
    counts = build(args.out)
    print(f"example: {counts['pages']} HTML pages, {counts['notes']} Markdown notes, {counts['rows']} CSV rows "
          f"({counts['dated']} dated) -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
