"""The registered model carries its own code: a fresh process with nothing of this repository on its path
loads it through MLflow and scores raw text (the vectorisers and the classifier are our classes)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import bundle, model
from pipeline.config import load_params
from pipeline.corpus.labels import training_rows
from pipeline.stages import register
from pipeline.stages.train import model_card
from tests.conftest import PARAMS, REPO

# The last two need the model's text repair (mojibake; Traditional characters), which travels with it too.
TEXTS = ["MOFCOM tightened export licences for terbium.", "包钢集团党委召开理论学习中心组学习会。",
         "Baogangâ€™s board merged two smelting units.", "包鋼集團黨委召開理論學習中心組學習會。"]

FRESH = r"""
import json, sys
repo = sys.argv[1]
# Forget this checkout: no editable-install finder, no path entry under the repository.
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                 and "editable" not in getattr(f, "__name__", "").lower()]
sys.path = [p for p in sys.path if p and not (p == repo or p.startswith(repo + "/") and not p.startswith(sys.prefix))]
try:
    import pipeline  # noqa: F401
    raise SystemExit("the repository's package is still importable")
except ModuleNotFoundError:
    pass
import mlflow
mlflow.set_tracking_uri(sys.argv[2])
loaded = mlflow.pyfunc.load_model("models:/policy-signals@champion")
import pandas as pd
proba = loaded.predict(pd.DataFrame({"text": json.loads(sys.argv[3])}))
import pipeline.features
from pipeline.reporting import entities  # its package data travels with the code (Dask workers import it)
print(json.dumps({"proba": [list(map(float, row)) for row in proba], "code": pipeline.features.__file__,
                  "entities": str(entities.DEFAULT), "found": entities.default().find(json.loads(sys.argv[3])[0])}))
"""


@pytest.fixture(params=[0, 0.5], ids=["ngrams", "with-embedding"])
def char_bundle(request, tmp_path, table):
    """Word and char n-grams, as shipped; and with the optional embedding block too."""
    params = load_params(PARAMS)
    params["train"] = {**params["train"], "cv_folds": 3, "char_max_features": 5000, "word_max_features": 5000,
                       "embedding_weight": request.param}
    rows = training_rows(table[0], False)
    rows = rows[rows["source"].eq("seeds") | rows["article_id"].isin(sorted(rows["article_id"].unique())[:12])]
    fitted, thresholds, oof = model.fit(params["train"], params["seed"], rows.reset_index(drop=True))
    bundle.save(tmp_path / "bundle", fitted, model_card(params, rows, thresholds, oof))
    return tmp_path / "bundle", params


def test_registered_model_loads_with_only_its_logged_code(char_bundle, tmp_path, mlflow_db, monkeypatch):
    directory, params = char_bundle
    uri = f"sqlite:///{mlflow_db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    fitted, card = bundle.load(directory)
    embedded = params["train"]["embedding_weight"] > 0
    assert {type(t).__name__ for _, t in fitted["features"].transformer_list} == {
        "WordCachedWordVectorizer", "WordCachedCharVectorizer", *(["StaticEmbedding"] if embedded else [])}
    if params["train"]["classifier"] == "logreg":  # on NB-scaled features our subclass, which must load fresh below
        kind = "NBLogisticRegression" if params["train"]["nb_smoothing"] > 0 else "LogisticRegression"
        assert {type(e).__name__ for e in fitted["classify"].estimators_} == {kind}
    metrics = {"cv": {"macro_f1": 0.8, "micro_f1": 0.8}}
    register.register(fitted, card, metrics, params, bundle.sha256(directory / bundle.MODEL))
    done = subprocess.run([sys.executable, "-c", FRESH, str(REPO), uri, json.dumps(TEXTS)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not result["code"].startswith(str(REPO)) and "code" in result["code"]
    assert not result["entities"].startswith(str(REPO)) and result["found"] == ["MOFCOM"]
    np.testing.assert_allclose(result["proba"], fitted.predict_proba(TEXTS), rtol=0, atol=1e-12)
    repaired = fitted.predict_proba(["Baogang's board merged two smelting units.", TEXTS[1]])
    np.testing.assert_allclose(result["proba"][2:], repaired, rtol=0, atol=1e-12)
    import mlflow  # what a served environment installs: pinned loading dependencies, never this package
    from importlib.metadata import version
    needs = Path(mlflow.pyfunc.get_model_dependencies("models:/policy-signals@champion")).read_text().split()
    assert f"scikit-learn=={version('scikit-learn')}" in needs and f"skops=={version('skops')}" in needs, needs
    assert (f"tokenizers=={version('tokenizers')}" in needs) == embedded, needs
    assert f"ftfy=={version('ftfy')}" in needs and f"opencc=={version('opencc')}" in needs, needs
    assert not [n for n in needs if n.startswith(("policy-signals", "pytest"))], needs


def test_an_unexpected_type_in_the_pipeline_is_refused(char_bundle):
    from sklearn.preprocessing import FunctionTransformer
    from pipeline.config import InputError
    fitted, _ = bundle.load(char_bundle[0])
    fitted.steps.insert(0, ("odd", FunctionTransformer(np.asarray)))
    with pytest.raises(InputError, match="not on the skops trusted list"):
        register.trusted_types(fitted)
