"""What an input file is, from its first bytes (magic numbers) and its extension, so that a PDF or Word file
goes to its extractor and a ZIP, an image or a program is named instead of being read as text.

Signatures are checked before the extension (a PDF named .txt is still a PDF); a file matching none is
text if its extension says nothing else. A short table of exact signatures, not a general sniffing library:
those guess (text starting "MZ" is not a Windows program, and not every ZIP is a .docx).
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from pipeline.config import InputError

ACCEPTED = ".txt, .md, .html, .pdf, .docx, .csv, .jsonl or .parquet"

# Advice shared by several kinds of file.
_OCR = "an image has no text layer: run OCR first"
_UNPACK = "unpack it and score the files inside"
_DECOMPRESS = "decompress it first"
_RESAVE = "save it as .docx or PDF"
# (offset, bytes, description, advice)
_SIGNATURES = [
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Microsoft Office file (Word .doc, Excel .xls, PowerPoint .ppt "
                                             "or Outlook .msg)", _RESAVE),
    (0, b"{\\rtf", "an RTF document", "save it as .docx, PDF or plain text"),
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image", _OCR),
    (0, b"\xff\xd8\xff", "a JPEG image", _OCR),
    (0, b"GIF87a", "a GIF image", _OCR),
    (0, b"GIF89a", "a GIF image", _OCR),
    (0, b"II*\x00", "a TIFF image", _OCR),
    (0, b"MM\x00*", "a TIFF image", _OCR),
    (0, b"\x7fELF", "an ELF executable (a Linux program)", None),
    (0, b"\xcf\xfa\xed\xfe", "a Mach-O executable (a macOS program)", None),
    (0, b"\xce\xfa\xed\xfe", "a Mach-O executable (a macOS program)", None),
    (0, b"\xca\xfe\xba\xbe", "a Mach-O executable or Java class file", None),
    (0, b"\x1f\x8b", "a gzip-compressed file", _DECOMPRESS),
    (0, b"\xfd7zXZ\x00", "an xz-compressed file", _DECOMPRESS),
    (0, b"(\xb5/\xfd", "a Zstandard-compressed file", _DECOMPRESS),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", _UNPACK),
    (0, b"Rar!\x1a\x07", "a RAR archive", _UNPACK),
    (257, b"ustar", "a tar archive", _UNPACK),
    (0, b"SQLite format 3\x00", "an SQLite database", None),
    (0, b"PAR1", "a Parquet table", "give it the .parquet extension to score it as a table"),
    (0, b"OggS\x00", "an Ogg audio or video file", None),
    (0, b"fLaC", "a FLAC audio file", None),
]
_RIFF = {b"WEBP": ("a WebP image", _OCR),
         b"WAVE": ("a WAV audio file", None), b"AVI ": ("an AVI video", None)}
_ZIPPED = [  # member of a ZIP package -> what the package is
    ("word/document.xml", None, None),  # a .docx: extracted
    ("xl/workbook.xml", "an Excel workbook (.xlsx)", "save the sheet as CSV and score it with --text-column"),
    ("ppt/presentation.xml", "a PowerPoint presentation (.pptx)", "save it as PDF"),
    ("META-INF/container.xml", "an EPUB e-book", "convert it to PDF or plain text"),
    ("content.xml", "an OpenDocument file (.odt, .ods or .odp)", _RESAVE),
]
# Extensions that are never text, for files whose first bytes match no signature above.
_SUFFIXES = {
    **dict.fromkeys([".doc", ".dot", ".xls", ".ppt", ".msg"],
                    ("a legacy Microsoft Office file", _RESAVE)),
    **dict.fromkeys([".xlsx", ".xlsm", ".ods", ".numbers"],
                    ("a spreadsheet", "save the sheet as CSV and score it with --text-column")),
    **dict.fromkeys([".pptx", ".odp", ".key"], ("a presentation", "save it as PDF")),
    **dict.fromkeys([".docm", ".dotx", ".odt", ".pages", ".rtf", ".epub"],
                    ("a document format this tool does not read", _RESAVE)),
    **dict.fromkeys([".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".svg", ".ico"],
                    ("an image", _OCR)),
    **dict.fromkeys([".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst", ".7z", ".rar"],
                    ("an archive or compressed file", _UNPACK)),
    **dict.fromkeys([".exe", ".dll", ".so", ".dylib", ".bin", ".msi", ".dmg", ".iso", ".class", ".jar", ".pyc"],
                    ("a program or binary file", None)),
    **dict.fromkeys([".mp3", ".wav", ".flac", ".ogg", ".m4a", ".mp4", ".mov", ".avi", ".mkv", ".webm"],
                    ("an audio or video file", None)),
    **dict.fromkeys([".sqlite", ".db", ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".h5", ".xlsb", ".feather"],
                    ("a binary data file", None)),
}


def _zip_kind(data) -> tuple[str | None, str | None]:
    """(description, advice) of a ZIP package by what it holds; (None, None) for a Word .docx."""
    try:
        with zipfile.ZipFile(data) as package:
            names = set(package.namelist())
            mimetype = package.read("mimetype")[:80].decode("ascii", "replace") if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError):
        return "a damaged ZIP file", None
    if mimetype == "application/epub+zip":
        return "an EPUB e-book", "convert it to PDF or plain text"
    for member, description, advice in _ZIPPED:
        if member in names:
            return description, advice
    return "a ZIP archive", _UNPACK


def _signature(head: bytes) -> tuple[str, str | None] | None:
    for offset, magic, description, advice in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return description, advice
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        if head[8:12] in (b"heic", b"heix", b"mif1", b"avif"):
            return "a HEIC or AVIF image", _OCR
        return "an MP4 or QuickTime media file", None
    if head[:2] == b"MZ" and len(head) >= 64:  # a Windows program: its PE header is where the MZ header says
        offset = int.from_bytes(head[60:64], "little")
        if head[offset:offset + 4] == b"PE\x00\x00":
            return "a Windows executable", None
    return None


def _refuse(name, description: str, advice: str | None):
    raise InputError(name, f"{description}, not a document this tool reads ({ACCEPTED})"
                           + (f"; {advice}" if advice else ""))


def reader(name, suffix: str, head: bytes, package) -> str | None:
    """'pdf' or 'docx' for a document to extract; None for a file to read by its extension (text, HTML,
    tables); an InputError naming what the file is when nothing here reads it. `head`: its first 4 KB;
    `package`: the file (path or buffer), opened as a ZIP only when its first bytes say it is one."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        description, advice = _zip_kind(package)
        if description is None:
            return "docx"
        if description == "a damaged ZIP file" and suffix == ".docx":  # a Word file cut short in a download or copy
            raise InputError(name, "a damaged Word document (its ZIP package is truncated or corrupt); save or "
                                   "download it again")
        _refuse(name, description, advice)
    found = _signature(head)
    if found and not (suffix == ".parquet" and head.startswith(b"PAR1")):
        _refuse(name, *found)
    if suffix in _SUFFIXES:
        _refuse(name, f"{_SUFFIXES[suffix][0]} ({suffix})", _SUFFIXES[suffix][1])
    if suffix == ".pdf":
        raise InputError(name, "named .pdf but not a PDF (no %PDF- header): a failed download or a renamed file?")
    if suffix == ".docx":
        raise InputError(name, "named .docx but not a Word document (not a ZIP package)")
    return None


def identify(path: Path) -> str | None:
    """`reader` for a file on disk (reads its first 4 KB)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror or exc})") from exc
    return reader(path, path.suffix.lower(), head, path)


def identify_bytes(data: bytes, name, suffix: str) -> str | None:
    """`reader` for data in memory (standard input), with the suffix its --stdin-format gives."""
    return reader(name, suffix, data[:4096], io.BytesIO(data))
