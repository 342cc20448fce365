"""The Dask engine against real local clusters of two worker processes: same rows and values as local."""
import pandas as pd
import pytest

from pipeline.cli import main
from tests.conftest import ARTICLES, REPO

pytestmark = pytest.mark.skipif(not (REPO / "models" / "SHA256SUMS").is_file(),
                                reason="needs the trained model (dvc repro)")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("in")
    chinese = ARTICLES / "zh" / "z1-discipline-baogang-warning-education-2024.txt"
    for source in [*sorted((ARTICLES / "seeds").glob("*.txt")), chinese]:
        (folder / source.name).write_bytes(source.read_bytes())
    pd.DataFrame({"text": [f"MOFCOM licence number {i} for terbium exports." for i in range(300)]}).to_csv(
        folder / "rows.csv", index=False)
    return folder


def score(inputs, out, *extra):
    assert main(["score", str(inputs), "-o", str(out), "--model", str(REPO / "models"), "--batch-size", "20",
                 "--include-text", *extra]) == 0
    return pd.read_parquet(out)


def test_local_dask_cluster_matches_the_local_engine(inputs, tmp_path):
    local = score(inputs, tmp_path / "local.parquet")
    on_dask = score(inputs, tmp_path / "dask.parquet", "--engine", "dask", "--jobs", "2")
    pd.testing.assert_frame_equal(on_dask, local)
    chinese = on_dask[on_dask["doc_id"].str.startswith("z1-")]  # Chinese on Dask workers: language, flags, reasons
    assert set(chinese["lang"]) == {"zh"} and chinese["ideology"].sum() >= 3
    assert chinese.loc[chinese["ideology"].eq(1), "explain_ideology"].str.contains("[\u4e00-\u9fff]").all()


def test_existing_cluster_by_scheduler_address(inputs, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = score(inputs, tmp_path / "dask.parquet", "--engine", "dask", "--scheduler", cluster.scheduler_address)
        assert len(cluster.scheduler.workers) == 2
    pd.testing.assert_frame_equal(on_dask, score(inputs, tmp_path / "local.parquet"))


def test_unreachable_scheduler_is_one_clear_error(inputs, tmp_path, capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "3s"}):  # Dask's default waits 30 s
        code = main(["score", str(inputs), "-o", str(tmp_path / "x.parquet"), "--model", str(REPO / "models"),
                     "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9", "--strict"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err
    assert not (tmp_path / "x.parquet").exists()


def test_a_cluster_that_outlives_runs_scores_each_run_with_the_model_it_names(inputs, tmp_path):
    """Workers kept the model they had loaded under its name ("models"): after the bundle there was replaced,
    the next run on the same cluster scored with the old one, exit 0, while the local engine used the new."""
    import shutil

    from distributed import LocalCluster

    from pipeline import bundle
    from tests.conftest import rehash

    models = tmp_path / "models"
    shutil.copytree(REPO / "models", models)
    card = models / bundle.CARD
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on = ["--engine", "dask", "--scheduler", cluster.scheduler_address, "--model", str(models)]
        first = score(inputs, tmp_path / "first.parquet", *on)
        card.write_text(card.read_text().replace('"risk": 0.', '"risk": 0.0').replace('"export": 0.', '"export": 0.0'))
        rehash(models)  # another bundle in the same folder: lower thresholds
        second = score(inputs, tmp_path / "second.parquet", *on)
        local = score(inputs, tmp_path / "local.parquet", "--model", str(models))
    pd.testing.assert_frame_equal(second, local)
    assert second["risk"].sum() > first["risk"].sum()
