"""A Ctrl-C that library code swallows is still honoured. numpy's dtype comparison clears whatever its
conversion of the other side raised; pandas compares dtypes with strings when pyarrow probes a column while
`score` writes Parquet, so a Ctrl-C landing there was lost and the run wrote its output (about one run in
30 under load). The handlers note the signal, and `score` raises it again."""
import os
import signal

import numpy as np
import pandas as pd
import pytest

from pipeline import interrupts
from pipeline.cli import main
from pipeline.scoring.outputs import Writer


class CtrlCWhileConverted:
    """An object numpy converts by reading its `dtype`: Ctrl-C (a real SIGINT to this process) is pressed
    then, so the handler's KeyboardInterrupt is raised inside numpy's conversion."""

    @property
    def dtype(self):
        os.kill(os.getpid(), signal.SIGINT)
        return "not a dtype"


@pytest.fixture
def ctrl_c_enabled():
    """SIGINT at Python's default, as in a terminal (a test worker may have it ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_numpy_swallows_a_ctrl_c_and_check_raises_it(ctrl_c_enabled):
    with interrupts.handled():
        assert not np.dtype("int64") == CtrlCWhileConverted()  # no KeyboardInterrupt escapes ...
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()  # ... but it was noted
    interrupts.check()  # and nothing is carried over to the next command


def test_score_whose_ctrl_c_was_swallowed_writes_nothing(ctrl_c_enabled, small_bundle, tmp_path, monkeypatch,
                                                         capsys):
    write = Writer.write

    def write_swallowing_a_ctrl_c(self, frame):
        np.dtype("int64") == CtrlCWhileConverted()  # as pandas' dtype checks inside pyarrow did
        write(self, frame)

    monkeypatch.setattr(Writer, "write", write_swallowing_a_ctrl_c)
    texts = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["MOFCOM tightened export licences for terbium."] * 50}).to_csv(texts, index=False)
    out = tmp_path / "scores.parquet"
    code = main(["score", str(texts), "-o", str(out), "--batch-size", "10", "--model", str(small_bundle[0])])
    err = capsys.readouterr().err
    assert (code, err) == (130, "policy-signals score: interrupted; no partial output was left\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["texts.csv"]
