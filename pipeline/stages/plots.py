"""Plot data for `dvc plots` (per-signal PR curves, confusion rows) and PNG images for people."""
from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import confusion_matrix, precision_recall_curve  # noqa: E402

from pipeline.config import atomic_path  # noqa: E402
from pipeline.signals import SIGNALS  # noqa: E402

PNG_METADATA = {"Software": None}  # no version stamp, so images are byte-reproducible


def _csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def _png(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90, metadata=PNG_METADATA)
    plt.close(fig)


def write(directory: Path, rows: pd.DataFrame, truth: np.ndarray, proba: np.ndarray, pred: np.ndarray) -> None:
    """Replace `directory` with pr/<signal>.csv, confusion/<signal>.csv, pr.png and confusion.png."""
    staging = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "pr").mkdir(parents=True)
    (staging / "confusion").mkdir()
    pr_fig, pr_axes = plt.subplots(1, len(SIGNALS), figsize=(4 * len(SIGNALS), 3.6))
    cm_fig, cm_axes = plt.subplots(1, len(SIGNALS), figsize=(3 * len(SIGNALS), 3))
    for j, signal in enumerate(SIGNALS):
        precision, recall, _ = precision_recall_curve(truth[:, j], proba[:, j])
        _csv(pd.DataFrame({"recall": recall.round(4), "precision": precision.round(4)}), staging / "pr" / f"{signal}.csv")
        named = {0: "no", 1: "yes"}
        _csv(pd.DataFrame({"paragraph_id": rows["paragraph_id"].to_numpy(),
                           "actual": pd.Series(truth[:, j]).map(named), "predicted": pd.Series(pred[:, j]).map(named)}),
             staging / "confusion" / f"{signal}.csv")
        pr_axes[j].plot(recall, precision)
        pr_axes[j].set(title=signal, xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
        matrix = confusion_matrix(truth[:, j], pred[:, j], labels=[0, 1])
        cm_axes[j].imshow(matrix, cmap="Blues")
        for (a, b), count in np.ndenumerate(matrix):
            cm_axes[j].text(b, a, str(count), ha="center", va="center")
        cm_axes[j].set(title=signal, xlabel="predicted", ylabel="actual", xticks=[0, 1], yticks=[0, 1],
                       xticklabels=["no", "yes"], yticklabels=["no", "yes"])
    pr_fig.tight_layout()
    cm_fig.tight_layout()
    _png(pr_fig, staging / "pr.png")
    _png(cm_fig, staging / "confusion.png")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    staging.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
