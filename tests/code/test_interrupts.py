"""A Ctrl-C that library code swallows is still honoured. numpy's dtype comparison clears whatever converting
its other side raised; pandas compares dtypes while pyarrow reads a column as `score` writes Parquet, so a
Ctrl-C landing there was lost and the run wrote its output (about one run in 30 under load). The handlers
note the signal; it is raised again between batches and before any output is renamed into place. Outputs that
belong together (a model and its manifest, scores and their summary) are renamed into place together: a Ctrl-C
during the renames waits until the last."""
import os
import shutil
import signal

import numpy as np
import pandas as pd
import pytest

from pipeline import bundle, interrupts
from pipeline.cli import main
from pipeline.config import atomic_path, atomic_paths
from pipeline.reporting import batchlog
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
def signals_enabled():
    """SIGINT and SIGTERM at Python's defaults, as in a terminal (a test worker may have SIGINT ignored)."""
    previous = {signum: signal.signal(signum, default) for signum, default in
                ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL))}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_a_swallowed_ctrl_c_is_raised_by_check_even_after_a_nested_block(signals_enabled):
    with interrupts.handled():
        swallow_a_ctrl_c()  # no KeyboardInterrupt escapes ...
        with interrupts.handled():  # (a command run from within another)
            pass
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()  # ... but it was noted
    interrupts.check()  # and nothing is carried over to the next command
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_no_output_is_renamed_into_place_after_a_swallowed_ctrl_c(signals_enabled, tmp_path):
    target = tmp_path / "out.json"
    with interrupts.handled(), pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("{}")
            swallow_a_ctrl_c()
    assert list(tmp_path.iterdir()) == []


def test_score_stops_at_the_batch_after_a_swallowed_ctrl_c_and_writes_nothing(signals_enabled, small_bundle,
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


def signal_after_first_rename(monkeypatch, signum=signal.SIGINT, then_fail=False) -> list[str]:
    """A real signal to this process just after the first of several files is renamed into place (and, with
    `then_fail`, the next rename failing as on a full or read-only disk); the names renamed, in order."""
    replace, renamed = os.replace, []

    def replace_then_signal(source, target):
        if renamed and then_fail:
            raise OSError(28, "No space left on device")
        replace(source, target)
        renamed.append(os.path.basename(target))
        if len(renamed) == 1:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(os, "replace", replace_then_signal)
    return renamed


def old_files(directory, *names) -> list:
    """Files an earlier run left, each reading "old"."""
    for name in names:
        (directory / name).write_text("old")
    return [directory / name for name in names]


def write_together(targets, before_renaming=lambda: None) -> None:
    """"new" written to every target through `atomic_paths`; `before_renaming` runs once all are written."""
    with atomic_paths(*targets) as tmps:
        for tmp in tmps:
            tmp.write_text("new")
        before_renaming()


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, interrupts.Terminated)])
def test_outputs_that_belong_together_are_all_renamed_before_a_signal_between_them(signals_enabled, tmp_path,
                                                                                  monkeypatch, signum, raised):
    targets = old_files(tmp_path, "scores.csv", "summary.csv")
    renamed = signal_after_first_rename(monkeypatch, signum)
    with interrupts.handled(), pytest.raises(raised):
        write_together(targets)
    assert renamed == ["scores.csv", "summary.csv"]  # in the order given
    assert [t.read_text() for t in targets] == ["new", "new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv", "summary.csv"]


def test_outputs_that_belong_together_are_none_renamed_after_a_swallowed_ctrl_c(signals_enabled, tmp_path):
    targets = old_files(tmp_path, "scores.csv", "summary.csv")
    with interrupts.handled(), pytest.raises(KeyboardInterrupt):
        write_together(targets, before_renaming=swallow_a_ctrl_c)
    assert [t.read_text() for t in targets] == ["old", "old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv", "summary.csv"]


def test_a_ctrl_c_held_while_a_later_rename_fails_is_not_lost(signals_enabled, tmp_path, monkeypatch):
    signal_after_first_rename(monkeypatch, then_fail=True)
    with interrupts.handled(), pytest.raises(KeyboardInterrupt):
        write_together([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]  # the failed one's temporary is removed


def test_a_ctrl_c_while_a_model_is_saved_over_another_leaves_one_whole_bundle(signals_enabled, small_bundle, tmp_path,
                                                                              monkeypatch):
    """Never a new model file beside the old manifest, which would make the live model unloadable."""
    live = tmp_path / "models"
    shutil.copytree(small_bundle[0], live)
    fitted, card = bundle.load(small_bundle[0])
    renamed = signal_after_first_rename(monkeypatch)
    with interrupts.handled(), pytest.raises(KeyboardInterrupt):
        bundle.save(live, fitted, {**card, "note": "newer"})
    assert renamed == [bundle.MODEL, bundle.TABLES, bundle.CARD, bundle.MANIFEST]
    assert bundle.verify(live)[0]["note"] == "newer"
    assert sorted(p.name for p in live.iterdir()) == sorted(p.name for p in small_bundle[0].iterdir())


def test_a_ctrl_c_as_score_renames_its_outputs_leaves_scores_summary_and_run_record_of_one_run(
        signals_enabled, small_bundle, tmp_path, monkeypatch):
    texts = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["MOFCOM tightened export licences for terbium."] * 7}).to_csv(texts, index=False)
    out, summary = tmp_path / "scores.csv", tmp_path / "docs.csv"
    args = ["score", str(texts), "-o", str(out), "--summary", str(summary), "--model", str(small_bundle[0])]
    assert main(args) == 0  # an earlier run's three files
    texts.write_text("text\nThe Party committee held a study session.\n")
    renamed = signal_after_first_rename(monkeypatch)
    assert main(args) == 130
    assert renamed == ["scores.csv", "docs.csv", "scores.csv.run.json"]
    assert len(pd.read_csv(out)) == len(pd.read_csv(summary)) == 1
    assert batchlog.read(out)["paragraphs"] == 1
