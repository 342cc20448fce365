"""What `score` reads and writes: input files with stable document ids, read once,
and outputs that can never clobber an input, all settled before any work.

A document's id is its path relative to the argument that found it (a directory: relative to it;
a glob: relative to the pattern's fixed leading folders; a file: its name), so ids do not change
with the working directory. Inputs that would share an id keep as many parent folders as it takes
to differ (`a/t.csv`, `b/t.csv`). The same file reached twice is read once.
"""
from __future__ import annotations

import fnmatch
import glob
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pipeline.config import InputError
from pipeline.scoring import inputs


@dataclass
class Source:
    """One input: a file (or '-' for standard input) and its document id."""
    item: Path | str
    doc_id: str


def root_of(argument: str) -> Path:
    """The folder ids are relative to: a directory itself, a file's folder, a glob's fixed prefix."""
    path = Path(argument)
    if path.is_dir():
        return path
    if path.exists() or not glob.has_magic(argument):
        return path.parent
    fixed = []
    for part in path.parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _unique(ids: dict[Path, str]) -> dict[Path, str]:
    """Lengthen colliding ids with parent folders of their real paths until every id is unique."""
    ids = dict(ids)
    while True:
        holders: dict[str, list[Path]] = defaultdict(list)
        for real, doc_id in ids.items():
            holders[doc_id].append(real)
        clashing = [real for group in holders.values() if len(group) > 1 for real in group]
        if not clashing:
            return ids
        for real in clashing:
            depth = len(Path(ids[real]).parts) + 1
            ids[real] = Path(*real.parts[-depth:]).as_posix() if depth < len(real.parts) else real.as_posix()


def identity(path: Path | str) -> tuple:
    """What makes two paths one file: an existing file's device and inode (so symlinks, hard links and
    bind mounts compare equal), else its folder's (as the kernel resolves it: `link/../x`) and its own name,
    else its resolved path. A path through a folder not made yet (`new/../x`) is taken as written out, as
    `atomic_path` will create it."""
    path, absolute = Path(path), Path(os.path.abspath(path))
    for target, tail in ((path, ()), (path.parent, (path.name,)), (absolute, ()), (absolute.parent, (absolute.name,))):
        try:
            status = os.stat(target)
            return (status.st_dev, status.st_ino, *tail)
        except (OSError, ValueError):
            continue
    return (str(absolute),)


def collect(arguments: list[str], failed: list[str], strict: bool) -> list[Source]:
    """Expand arguments into sources with unique ids, each file (and standard input) once; an argument
    matching nothing is reported (stderr, added to `failed`) or, when strict, raised."""
    found: dict[Path, Path] = {}  # real path -> path as found
    relative: dict[Path, str] = {}
    order: list[Path | str] = []
    seen: set[tuple] = set()
    for argument in arguments:
        if argument == "-":
            if "-" not in order:
                order.append("-")
            continue
        try:
            files = list(inputs.expand([argument]))
        except InputError as exc:
            if strict:
                raise
            failed.append(argument)
            print(f"error: {exc} (skipped)", file=sys.stderr)
            continue
        root = root_of(argument)
        for path in files:
            key = identity(path)
            if key not in seen:
                seen.add(key)
                real = Path(path).resolve()
                found[real], relative[real] = Path(path), Path(os.path.relpath(path, root)).as_posix()
                order.append(real)
    ids = _unique(relative)
    return [Source("-", "stdin") if item == "-" else Source(found[item], ids[item]) for item in order]


HOLD_BYTES = 8 << 20  # a table file up to this size is read whole before its first row is scored


def _hold(read: Iterator[inputs.Unit]) -> tuple[list[inputs.Unit], InputError | None]:
    """All units of an input up to its first error, and that error."""
    held: list[inputs.Unit] = []
    try:
        for unit in read:
            held.append(unit)
    except InputError as exc:
        return held, exc
    return held, None


def _replay(held: list[inputs.Unit], error: InputError | None, keep_partial: bool) -> Iterator[inputs.Unit]:
    if error is not None and not keep_partial:
        raise error
    yield from held
    if error is not None:
        raise error


def units(source: Source, text_column: str, id_column: str | None, stdin_format: str, keep_partial: bool,
          coerce_text: bool, streamed: bool, stdin: dict) -> Iterator[inputs.Unit]:
    """The units of one input, read once. A `streamed` input (see `guarded`) or one read with `keep_partial`
    comes as it is read; any other is held until read whole, so a bad row fails it before its first unit.
    Standard input is held in `stdin`, so a run that scores again replays it."""
    def read() -> Iterator[inputs.Unit]:
        return inputs.units(source.item, text_column, id_column, stdin_format, source.doc_id, coerce_text)

    if source.item == "-":
        if "held" not in stdin:
            stdin["held"] = _hold(read())
        return _replay(*stdin["held"], keep_partial)
    return read() if streamed or keep_partial else _replay(*_hold(read()), keep_partial=False)


def guarded(source: Source, keep_partial: bool) -> bool:
    """Must rows already read be taken back if this input fails later? True for a table file larger than
    HOLD_BYTES (a bad row anywhere skips the whole table) unless `keep_partial` keeps the rows before it."""
    if source.item == "-" or keep_partial or Path(source.item).suffix.lower() not in inputs.TABLE_SUFFIXES:
        return False
    try:
        return Path(source.item).stat().st_size > HOLD_BYTES
    except OSError:
        return False


def _matches(pattern: tuple[str, ...], target: tuple[str, ...]) -> bool:
    """Would `glob.glob` with the pattern's parts (recursive) list a path with the target's parts?"""
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(target)
        if pattern[i] == "**":  # any folders, but not hidden ones: glob's ** skips them
            return any(match(i + 1, k) for k in range(j, len(target) + 1)
                       if not any(part.startswith(".") for part in target[j:k]))
        if j == len(target):
            return False
        if target[j].startswith(".") and not pattern[i].startswith(".") and glob.has_magic(pattern[i]):
            return False  # glob skips hidden names unless the pattern names them
        same = fnmatch.fnmatchcase(target[j], pattern[i]) if glob.has_magic(pattern[i]) \
            else target[j] == pattern[i]
        return same and match(i + 1, j + 1)

    return match(0, 0)


def _globbed(argument: str, output: Path) -> bool:
    """Would the glob `argument` list `output` once written? Below the pattern's fixed folders, reached by
    any path (symlink, bind mount), or spelt as the pattern spells it when those folders do not exist yet."""
    pattern = Path(os.path.abspath(argument)).parts
    root = Path(os.path.abspath(root_of(argument)))
    spellings = {Path(os.path.abspath(output)).parts, output.resolve().parts}
    if not root.exists():
        return any(_matches(pattern, parts) for parts in spellings)
    rest, home = pattern[len(root.parts):], identity(root)
    return any(identity(Path(*parts[:k])) == home and _matches(rest, parts[k:])
               for parts in spellings for k in range(1, len(parts)))


def _listed_in_folder(argument: str, output: Path) -> bool:
    """Would the glob `argument` list `output` in a folder its wildcards reach, through symlinks too?"""
    head, tail = os.path.split(argument)
    folders = glob.glob(os.path.join(argument if tail == "**" else head, ""), recursive=True) \
        if tail == "**" or glob.has_magic(head) else [head or "."]
    home = identity(output.parent)
    return _matches(("*" if tail == "**" else tail,), (output.name,)) and \
        any(identity(folder) == home for folder in folders)


def _inside(folder: Path, output: Path) -> bool:
    """Is `output` somewhere below `folder`, by any path?"""
    home = identity(folder)
    return any(identity(parent) == home
               for spelt in (Path(os.path.abspath(output)), output.resolve()) for parent in spelt.parents)


def check_outputs(outputs: list[Path], arguments: list[str], sources: list[Source],
                  catalog: Path | None = None) -> None:
    """Refuse, before any work, an output that is an input or the catalog, or another output, or would
    be read back as input next time (inside an input folder, or matched by an input pattern). Files are
    compared by identity, so no spelling or mount of a path gets past."""
    read = {identity(source.item): "is one of the inputs" for source in sources if source.item != "-"}
    if catalog is not None:
        read[identity(catalog)] = "is the --catalog"
    seen: set[tuple] = set()
    for output in outputs:
        key = identity(output)
        if key in seen:
            raise InputError(output, "is both the -o output and the --summary; give them two files")
        seen.add(key)
        if output.is_dir():
            raise InputError(output, "is a directory; give a file name for the output")
        if key in read:
            raise InputError(output, f"{read[key]}; refusing to overwrite it")
        for argument in arguments:
            if argument == "-":
                continue
            folder = Path(argument)
            if folder.is_dir() and _inside(folder, output):
                raise InputError(output, f"is inside the input folder {argument}; the next run would read it "
                                         "back as input (write it elsewhere)")
            if not folder.exists() and glob.has_magic(argument) and \
                    (_globbed(argument, output) or _listed_in_folder(argument, output)):
                raise InputError(output, f"matches the input pattern {argument}; the next run would read it "
                                         "back as input (write it elsewhere)")
