"""Reading and validating params.yaml, the shared input error, and atomic writes.

Every stage reads its settings through `load_params`, so a wrong type or an
out-of-range value stops the stage with one line naming the key, before any
output is touched.
"""
from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Hashable
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml

from pipeline import interrupts


class InputError(Exception):
    """Bad input: the message names the file and the problem on one line."""

    def __init__(self, path: str | os.PathLike, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem

    def __reduce__(self):  # raised in a worker process (a pool's or Dask's), it reaches the parent whole
        return type(self), (self.path, self.problem)


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping names one key twice."""


class _UniqueKeys(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # SafeLoader refuses it below
            if key in seen:
                raise _DuplicateKey(
                    None, None, f"duplicate key '{key}' (line {key_node.start_mark.line + 1})", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: str | os.PathLike, what: str) -> Any:
    """A YAML file's contents; unreadable, malformed or with a key given twice, one InputError naming it."""
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_UniqueKeys)
    except _DuplicateKey as exc:
        raise InputError(path, exc.problem) from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(path, f"cannot read {what} ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc


def read_csv(path: str | os.PathLike, what: str, sep: str = ","):
    """A CSV file as a DataFrame of strings (UTF-8, a BOM skipped as pandas does; no value read as missing);
    missing, unreadable, not UTF-8 or malformed, one InputError naming it and `what` it is."""
    import pandas as pd  # here: every command imports this module, `--help` included

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8", sep=sep)
    except FileNotFoundError as exc:
        raise InputError(path, f"{what} not found") from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, 'is not UTF-8 text (saved in a Windows code page?); save it as "CSV UTF-8"') from exc
    except (OSError, ValueError) as exc:  # pandas' ParserError and EmptyDataError are ValueErrors
        reason = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(path, f"cannot read {what} ({reason})") from exc


def _num(lo: float | None = None, hi: float | None = None, integer: bool = False, lo_open: bool = False):
    kind = "an integer" if integer else "a number"
    bounds = []
    if lo is not None:
        bounds.append(f"{'>' if lo_open else '>='} {lo}")
    if hi is not None:
        bounds.append(f"<= {hi}")
    expected = kind + (" " + " and ".join(bounds) if bounds else "")

    def check(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, int if integer else (int, float)):
            return False
        if isinstance(v, float) and not math.isfinite(v):  # .nan passes every comparison; .inf any lower bound
            return False
        if lo is not None and (v <= lo if lo_open else v < lo):
            return False
        return hi is None or v <= hi

    check.real = not integer  # read as a float: 4 and 4.0 are one setting, so one model's bytes
    return check, expected


def _choice(*options: Any):
    return (lambda v: v in options), "one of " + ", ".join(map(str, options))


_BOOL = (lambda v: isinstance(v, bool)), "true or false"
_STR = (lambda v: isinstance(v, str) and v != ""), "a non-empty string"

# Every key a stage may read, with its check; unknown keys are refused too.
# Entries under a key in NAMED are the user's own names (e.g. one per real-text gold set), each with this check.
SCHEMA: dict[str, tuple] = {
    "seed": _num(0, 2**32 - 1, integer=True),  # numpy's and scikit-learn's random_state range
    "train.use_weak_labels": _BOOL,
    "train.cv_folds": _num(2, 20, integer=True),
    "train.word_ngram_max": _num(1, 4, integer=True),
    "train.word_min_df": _num(1, integer=True),
    "train.word_max_features": _num(1, integer=True),
    "train.char_ngrams": _BOOL,
    "train.char_ngram_min": _num(1, 8, integer=True),
    "train.char_ngram_max": _num(1, 8, integer=True),
    "train.char_max_features": _num(1, integer=True),
    "train.sublinear_tf": _BOOL,
    "train.embedding_dims": _num(1, 384, integer=True),  # the MiniLM input embeddings have 384
    "train.embedding_weight": _num(0),
    "train.classifier": _choice("logreg", "svm", "sgd"),
    "train.C": _num(0, lo_open=True),
    "train.nb_smoothing": _num(0),
    "train.class_weight": _choice("balanced", "none"),
    "train.max_iter": _num(10, 2**31 - 1, integer=True),  # the solvers take a C int
    "evaluate.cv_folds": _num(2, 20, integer=True),
    "evaluate.holdout_source": _STR,
    "evaluate.errors_per_signal": _num(0, integer=True),
    "evaluate.label_issues": _num(0, integer=True),
    "register.model_name": _STR,
    "register.allow_worse": _BOOL,
}


NAMED: dict[str, tuple] = {"evaluate.real_text": _STR}
_SECTIONS = {key.partition(".")[0] for key in SCHEMA if "." in key}
_ENTRY_NAME = re.compile(r"[A-Za-z0-9_-]+")


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _named(path, tree: dict, prefix: str) -> dict:
    """Take the user-named entries under `prefix` out of `tree`, checked: a mapping (empty when left blank)
    of name -> value, with no deeper nesting (a nested entry is not a value, whatever its leaves are)."""
    section, _, leaf = prefix.rpartition(".")
    parent = tree.get(section)
    if not isinstance(parent, dict) or leaf not in parent:
        return {}
    entries = parent.pop(leaf)
    if entries is None:
        return {}
    check, expected = NAMED[prefix]
    if not isinstance(entries, dict):
        raise InputError(path, f"param '{prefix}' must be a mapping of name -> {expected}, got {entries!r}")
    for name, value in entries.items():
        if not (isinstance(name, str) and _ENTRY_NAME.fullmatch(name)):
            raise InputError(path, f"param '{prefix}' entry name {name!r} may use only letters, digits, '_' and '-' "
                                   "(it names MLflow params and metrics, which refuse the rest)")
        if not check(value):
            raise InputError(path, f"param '{prefix}.{name}' must be {expected}, got {value!r}")
    return entries


def load_params(path: str | os.PathLike = "params.yaml") -> dict[str, Any]:
    """Read params.yaml and validate every key against SCHEMA."""
    tree = read_yaml(path, "params")
    if not isinstance(tree, dict):
        raise InputError(path, "params must be a mapping of sections")
    for section in _SECTIONS & set(tree):
        if tree[section] is None:  # left blank: its keys are reported missing
            tree[section] = {}
        elif not isinstance(tree[section], dict):
            raise InputError(path, f"params section '{section}' must be a mapping of its keys, got {tree[section]!r}")
    named = {prefix: _named(path, tree, prefix) for prefix in NAMED}
    flat = flatten(tree)
    for key, value in flat.items():
        if key not in SCHEMA:
            raise InputError(path, f"unknown param '{key}'")
        check, expected = SCHEMA[key]
        if not check(value):
            raise InputError(path, f"param '{key}' must be {expected}, got {value!r}")
    missing = sorted(set(SCHEMA) - set(flat))
    if missing:
        raise InputError(path, f"missing param '{missing[0]}'")
    if flat["train.char_ngram_min"] > flat["train.char_ngram_max"]:
        raise InputError(path, "param 'train.char_ngram_min' must be <= 'train.char_ngram_max'")
    for key, (check, _) in SCHEMA.items():
        if getattr(check, "real", False):
            section, _, leaf = key.rpartition(".")
            tree[section][leaf] = float(tree[section][leaf])
    for prefix, entries in named.items():  # back in place, a blank entry as an empty mapping
        section, _, leaf = prefix.rpartition(".")
        tree[section][leaf] = entries
    return tree


def files_under(folder: str | os.PathLike) -> list[Path]:
    """Every file below `folder`, sorted, through symlinked subfolders too (each real folder read once, so a
    link loop ends); a subfolder that cannot be read is an InputError naming it, not silently left out.
    Hidden files and folders (a name starting with '.': .git, macOS's ._ copies) are left out, as a glob
    leaves them."""
    def refuse(exc: OSError):
        raise InputError(exc.filename, f"cannot read folder ({exc.strerror or exc})") from exc

    seen, files = set(), []
    for here, folders, names in os.walk(folder, onerror=refuse, followlinks=True):
        status = os.stat(here)
        if (status.st_dev, status.st_ino) in seen:
            folders[:] = []
            continue
        seen.add((status.st_dev, status.st_ino))
        folders[:] = [name for name in folders if not name.startswith(".")]
        files += [path for path in (Path(here) / name for name in names if not name.startswith(".")) if path.is_file()]
    return sorted(files)


_UMASK = os.umask(0)
os.umask(_UMASK)


# Our temporaries: ".<target name>.<writer pid>.<8 random characters from mkstemp>.policy-signals.tmp"; the
# marker keeps a user's own ".name.123.abcdefgh.tmp" from being taken for one, deleted or left unscored.
_MARKER = ".policy-signals.tmp"
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[a-z0-9_]{8}" + re.escape(_MARKER) + "$")


def is_temporary(path: str | os.PathLike) -> bool:
    """True for a temporary written by `atomic_path` (never an input, whatever its directory)."""
    return bool(_TEMPORARY.match(Path(path).name))


def _remove_orphans(directory: Path) -> None:
    """Delete temporaries in `directory` left by processes that no longer exist (killed runs),
    whatever output they were for."""
    try:
        names = [entry.name for entry in os.scandir(directory) if entry.name.endswith(_MARKER)]
    except OSError:
        return
    for name in names:
        match = _TEMPORARY.match(name)
        if not match or int(match.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            (directory / name).unlink(missing_ok=True)
        except (PermissionError, OverflowError):  # alive and someone else's, or not a PID
            pass


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` only on success.

    The temporary's name carries the writer's PID, so a run killed with SIGKILL leaves only a
    hidden temporary, which the next write into the same directory removes. A target that
    cannot be written (a directory, a read-only file or place) is one InputError naming it. An existing
    target keeps its permissions, and a symlink stays one: the file it points to is replaced, as `open` would.
    """
    named = Path(target)
    if named.is_dir():
        raise InputError(named, "is a directory; give a file name")
    target = Path(os.path.realpath(named)) if named.is_symlink() else named
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_UMASK  # a new file: ordinary permissions (mkstemp makes 0600)
    else:
        if not mode & 0o222 or not os.access(target, os.W_OK):
            raise InputError(named, "is read-only; refusing to replace it (make it writable, or write elsewhere)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphans(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=_MARKER, dir=target.parent)
        os.close(fd)
        os.chmod(tmp, mode)
    except OSError as exc:
        blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
        problem = f"{blocking} is a file, not a folder" if blocking else exc.strerror or exc
        raise InputError(named, f"cannot write here ({problem})") from exc
    try:
        yield Path(tmp)
        interrupts.check()  # a Ctrl-C or SIGTERM that library code swallowed while the file was written
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(named, f"cannot write ({exc.strerror or exc})") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_paths(*targets: str | os.PathLike) -> Iterator[list[Path]]:
    """`atomic_path` for several outputs that belong together (a model and its manifest, scores and their
    summary): all are renamed into place only on success, in the order given, with a Ctrl-C or SIGTERM held
    until the last is (under `interrupts.handled()`, as every command runs), so a signal never leaves them a mix
    of this run's files and older ones. A rename that fails (the disk, permissions) can leave the targets before it
    renamed; a bundle's manifest, renamed last, then names other bytes, and the bundle is refused, not misread."""
    stacks: list[ExitStack] = []  # one per target, so that they are claimed and renamed in the order given
    try:
        tmps = []
        for target in targets:  # a folder that refuses them all is reported for the first: the output typed
            stacks.append(ExitStack())
            tmps.append(stacks[-1].enter_context(atomic_path(target)))
        yield tmps
        interrupts.check()  # one that library code swallowed while they were written: rename none
        with interrupts.deferred():
            while stacks:
                stacks.pop(0).close()
    except BaseException:
        failure = sys.exc_info()
        for stack in reversed(stacks):  # the temporaries not renamed are removed
            stack.__exit__(*failure)
        raise


def json_text(data: Any) -> str:
    """JSON with stable key order, so DVC hashes are reproducible."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write `json_text(data)` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json_text(data), encoding="utf-8")
