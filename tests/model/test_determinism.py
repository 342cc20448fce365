"""Same data and params give the same model bytes, model card and predictions."""
import hashlib

import joblib

from pipeline.cli import main
from tests.conftest import ARTICLES, LABELS, PARAMS, REPO, RULES, run


def test_two_trainings_are_identical(tmp_path, capsys):
    table = tmp_path / "paragraphs.parquet"
    assert main(["split", "--articles", str(ARTICLES), "--labels", str(LABELS), "--rules", str(RULES),
                 "--out", str(table), "--report", str(tmp_path / "report.json")]) == 0
    outputs = []
    for name, hash_seed in (("a", "1"), ("b", "2")):  # separate processes, different str hashing
        done = run(["python", "-m", "pipeline", "train", "--data", str(table), "--params", str(PARAMS),
                    "--out", str(tmp_path / name)], cwd=REPO, PYTHONHASHSEED=hash_seed)
        assert done.returncode == 0, done.stderr
        outputs.append({f: (tmp_path / name / f).read_bytes() for f in ("model.joblib", "model_card.json")})
    assert outputs[0] == outputs[1]
    texts = ["MOFCOM tightened export licences.", "Party committee studied Xi's speech."]
    a, b = (joblib.load(tmp_path / n / "model.joblib").predict_proba(texts) for n in ("a", "b"))
    assert (a == b).all()
    assert hashlib.sha256(outputs[0]["model.joblib"]).hexdigest() in (tmp_path / "a" / "SHA256SUMS").read_text()
