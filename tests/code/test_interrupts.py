"""A Ctrl-C that library code swallows is still honoured. numpy's dtype comparison clears whatever converting
its other side raised; pandas compares dtypes while pyarrow reads a column as `score` writes Parquet, so a
Ctrl-C landing there was lost and the run wrote its output (about one run in 30 under load). The handlers
note the signal; it is raised again between batches and before any output is renamed into place. Outputs that
belong together (a model and its manifest, scores and their summary) are renamed into place together: a Ctrl-C
during the renames waits until the last."""
import os
import signal

import shutil

import numpy as np
import pandas as pd
import pytest

from pipeline import bundle, interrupts
from pipeline.cli import main
from pipeline.config import atomic_path, atomic_paths
from pipeline.scoring.outputs import Writer


class CtrlCWhileConverted:
    """An object numpy converts by reading its `dtype`: Ctrl-C (a real SIGINT to this process) is pressed
    then, so the handler's KeyboardInterrupt is raised inside numpy's conversion."""

    @property
    def dtype(self):
        os.kill(os.getpid(), signal.SIGINT)
        return "not a dtype"


def swallow_a_ctrl_c() -> None:
    """Press Ctrl-C where numpy drops the KeyboardInterrupt, as it did inside pandas inside pyarrow."""
    try:
        assert not np.dtype("int64") == CtrlCWhileConverted()
    except KeyboardInterrupt:
        pytest.fail("numpy no longer swallows a KeyboardInterrupt: this test's premise is gone")


@pytest.fixture
def ctrl_c_enabled():
    """SIGINT at Python's default, as in a terminal (a test worker may have it ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_swallowed_ctrl_c_is_raised_by_check_even_after_a_nested_block(ctrl_c_enabled):
    with interrupts.handled():
        swallow_a_ctrl_c()  # no KeyboardInterrupt escapes ...
        with interrupts.handled():  # (a command run from within another)
            pass
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()  # ... but it was noted
    interrupts.check()  # and nothing is carried over to the next command
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_no_output_is_renamed_into_place_after_a_swallowed_ctrl_c(ctrl_c_enabled, tmp_path):
    target = tmp_path / "out.json"
    with interrupts.handled(), pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("{}")
            swallow_a_ctrl_c()
    assert list(tmp_path.iterdir()) == []


def test_score_stops_at_the_batch_after_a_swallowed_ctrl_c_and_writes_nothing(ctrl_c_enabled, small_bundle,
                                                                              tmp_path, monkeypatch, capsys):
    write, written = Writer.write, []

    def write_swallowing_a_ctrl_c(self, frame):
        written.append(len(frame))
        if len(written) == 1:
            swallow_a_ctrl_c()
        write(self, frame)

    monkeypatch.setattr(Writer, "write", write_swallowing_a_ctrl_c)
    texts = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["MOFCOM tightened export licences for terbium."] * 50}).to_csv(texts, index=False)
    out = tmp_path / "scores.parquet"
    code = main(["score", str(texts), "-o", str(out), "--batch-size", "10", "--model", str(small_bundle[0])])
    err = capsys.readouterr().err
    assert (code, err) == (130, "policy-signals score: interrupted; no partial output was left\n")
    assert written == [10]  # not one batch more
    assert sorted(p.name for p in tmp_path.iterdir()) == ["texts.csv"]


@pytest.fixture
def ctrl_c_after_first_rename(monkeypatch):
    """Ctrl-C (a real SIGINT) is pressed just after the first of several files is renamed into place."""
    replace, renamed = os.replace, []

    def replace_then_press(source, target):
        replace(source, target)
        renamed.append(os.path.basename(target))
        if len(renamed) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_press)
    return renamed


def test_outputs_that_belong_together_are_all_renamed_before_a_ctrl_c_between_them(ctrl_c_enabled, tmp_path,
                                                                                   ctrl_c_after_first_rename):
    targets = [tmp_path / name for name in ("scores.csv", "summary.csv")]
    for target in targets:
        target.write_text("old")
    with interrupts.handled(), pytest.raises(KeyboardInterrupt):
        with atomic_paths(*targets) as tmps:
            for tmp in tmps:
                tmp.write_text("new")
    assert ctrl_c_after_first_rename == ["scores.csv", "summary.csv"]  # in the order given
    assert [t.read_text() for t in targets] == ["new", "new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv", "summary.csv"]


def test_a_ctrl_c_while_a_model_is_saved_over_another_leaves_one_whole_bundle(ctrl_c_enabled, small_bundle, tmp_path,
                                                                              ctrl_c_after_first_rename):
    """Never a new model file beside the old manifest, which would make the live model unloadable."""
    live = tmp_path / "models"
    shutil.copytree(small_bundle[0], live)
    fitted, card = bundle.load(small_bundle[0])
    with interrupts.handled(), pytest.raises(KeyboardInterrupt):
        bundle.save(live, fitted, {**card, "note": "newer"})
    assert ctrl_c_after_first_rename == [bundle.MODEL, bundle.TABLES, bundle.CARD, bundle.MANIFEST]
    assert bundle.verify(live)[0]["note"] == "newer"
    assert sorted(p.name for p in live.iterdir()) == sorted(p.name for p in small_bundle[0].iterdir())
