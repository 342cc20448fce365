"""Same data and params give the same model bytes, model card and predictions, in separate processes with
different string hashing. A slice of the corpus (every language) shows it in a fraction of the time; the
fresh-clone `dvc repro -f` test shows it for a whole pipeline run."""
import hashlib
import os
import subprocess
import sys

from pipeline import bundle
from tests.conftest import PARAMS, REPO

ARTICLES_PER_SOURCE = 8


def test_two_trainings_are_identical(tmp_path, table):
    rows = table[0]
    kept = rows.groupby("source")["article_id"].transform(lambda ids: ids.isin(sorted(set(ids))[:ARTICLES_PER_SOURCE]))
    data = tmp_path / "paragraphs.parquet"
    rows[kept].reset_index(drop=True).to_parquet(data)
    trainings = [subprocess.Popen([sys.executable, "-m", "pipeline", "train", "--data", str(data), "--params",
                                   str(PARAMS), "--out", str(tmp_path / name)], cwd=REPO, stderr=subprocess.PIPE,
                                  text=True, env={**os.environ, "PYTHONHASHSEED": seed})
                 for name, seed in (("a", "1"), ("b", "2"))]  # at once, on the two cores
    for training in trainings:
        assert training.wait() == 0, training.stderr.read()
    outputs = [{f: (tmp_path / n / f).read_bytes() for f in ("model.joblib", "model_card.json")} for n in "ab"]
    assert outputs[0] == outputs[1]
    texts = ["MOFCOM tightened export licences.", "Party committee studied Xi's speech.", "稀土出口管制收紧。"]
    (a, _), (b, _) = (bundle.load(tmp_path / n) for n in "ab")
    assert (a.predict_proba(texts) == b.predict_proba(texts)).all()
    assert hashlib.sha256(outputs[0]["model.joblib"]).hexdigest() in (tmp_path / "a" / "SHA256SUMS").read_text()
