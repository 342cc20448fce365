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


def _avx512() -> list[str]:
    """The AVX-512 levels this process's numpy dispatches to (names of numpy >= 2.4 and of earlier releases)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return [k for k in ("X86_V4", "AVX512_SKX", "AVX512_ICL") if features.get(k)]


def _numpy_kernels(command: str, **env: str) -> list[str]:
    """The AVX-512 kernel levels numpy dispatches to in a process started as `policy-signals COMMAND`."""
    probe = ("import sys\nsys.argv = ['policy-signals', %r, '--help']\nfrom pipeline.cli import run\n"
             "try:\n    run()\nexcept SystemExit:\n    pass\n"
             "from tests.model.test_determinism import _avx512\nprint(' '.join(_avx512()))") % command
    environ = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                          env={**environ, **env}, check=True)
    return done.stdout.split("\n")[-2].split()


def test_build_commands_use_the_kernels_every_avx2_machine_has():
    """AVX-512 sums round otherwise than AVX2 ones, so the same corpus trained other model bytes on machines
    with and without AVX-512: the commands DVC runs keep to AVX2, scoring keeps every kernel the CPU has, and
    a user's own setting wins. (On a machine without AVX-512 every list is empty.)"""
    import yaml

    from pipeline.cli import BUILD_COMMANDS
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    run_by_dvc = {stage["cmd"].split()[3] for stage in stages.values()}  # python -m pipeline COMMAND ...
    assert run_by_dvc == set(BUILD_COMMANDS)  # every command DVC runs is pinned, and only those
    scoring = _numpy_kernels("score")
    assert _numpy_kernels("split") == []  # the lightest build command: one process stands for the list
    assert _numpy_kernels("split", NPY_DISABLE_CPU_FEATURES="") == scoring
    assert scoring == _avx512()
