"""Stage `evaluate`: metrics, errors, label issues and plots from `crossvalidate`'s predictions; real-text sets.

Every number about the corpus comes from models that never saw the test paragraph's article (the
`crossvalidate` stage's fits, with thresholds re-tuned inside each training fold), so nothing is flattered.
The real-text gold sets are scored by the trained model here, so editing one reruns this stage alone.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import bundle, model, rules as rules_mod, tracking
from pipeline.config import atomic_path, load_params, write_json
from pipeline.corpus.labels import read_table, training_rows
from pipeline.signals import SIGNALS, named
from pipeline.stages import goldsets, plots, predictions
from pipeline.stages.metrics import bootstrap_interval, summary


MIN_SLICE = 30  # paragraphs a language needs before its cross-validated scores are reported


def scored(truth, proba, pred, fold_of, gold) -> dict:
    """Pooled metrics on gold rows plus the spread of macro/micro F1 across folds."""
    out = summary(truth[gold], proba[gold], pred[gold])
    per_fold = [summary(truth[gold & (fold_of == f)], proba[gold & (fold_of == f)], pred[gold & (fold_of == f)],
                        per_signal=False) for f in np.unique(fold_of[gold])]
    for key in ("macro_f1", "micro_f1"):
        out[f"{key}_std"] = round(float(np.std([m[key] for m in per_fold])), 4)
    return out


def slices(rows, truth, proba, pred, gold) -> dict:
    """Per paragraph kind and per source folder: micro/macro-F1 over the signals present there,
    and the share of paragraphs flagged (the useful number where no signal is present, e.g. furniture)."""
    out: dict[str, dict] = {}
    for column in ("kind", "source", "lang"):
        for value in sorted(rows[column].unique()):
            mask = gold & rows[column].eq(value).to_numpy()
            if mask.sum() < 10:
                continue
            present = truth[mask].any(axis=0)
            scores = summary(truth[mask][:, present], proba[mask][:, present], pred[mask][:, present],
                             per_signal=False) if present.any() else {}
            out.setdefault(column, {})[value] = {**scores, "paragraphs": int(mask.sum()),
                                                 "flagged_share": round(float(pred[mask].any(axis=1).mean()), 4)}
    return out


def holdout(rows: pd.DataFrame, source: str, tested: np.ndarray, proba: np.ndarray, pred: np.ndarray,
            seed: int) -> dict:
    """Metrics of the model trained without one source folder (the real bundled articles), on its gold rows."""
    truth = model.labels_matrix(rows[tested])
    low, high = bootstrap_interval(truth, pred, seed)
    return {"source": source, "paragraphs": int(tested.sum()), **summary(truth, proba, pred),
            "macro_f1_ci95_low": low, "macro_f1_ci95_high": high}


def errors(rows, truth, proba, pred, gold, per_signal: int) -> pd.DataFrame:
    """The most confident false positives and false negatives per signal, with their text."""
    frames = []
    for j, signal in enumerate(SIGNALS):
        for kind, mask, ascending in (("false positive", (pred[:, j] == 1) & (truth[:, j] == 0), False),
                                      ("false negative", (pred[:, j] == 0) & (truth[:, j] == 1), True)):
            picked = rows[mask & gold].assign(signal=signal, error=kind, probability=proba[mask & gold, j].round(4))
            frames.append(picked.sort_values(["probability", "paragraph_id"], ascending=[ascending, True])
                          .head(per_signal))
    return pd.concat(frames)[["signal", "error", "probability", "article_id", "paragraph_id", "kind", "text"]]


def label_issues(rows: pd.DataFrame, truth: np.ndarray, proba: np.ndarray, gold: np.ndarray, top: int) -> pd.DataFrame:
    """Gold labels that cleanlab finds suspect given out-of-fold probabilities, most suspect first.

    Each row names the paragraph, its label quality score, its given labels, the signals the model gives
    (p >= 0.5), and the text, so a reviewer can fix `data/labels.csv` or confirm the label.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    columns = ["paragraph_id", "article_id", "quality", "given", "model_suggests", "text"]
    index = np.flatnonzero(gold)
    if top == 0 or len(index) < 10:
        return pd.DataFrame(columns=columns)
    given = [list(np.flatnonzero(row)) for row in truth[index]]
    # n_jobs=1: cleanlab's default forks a process pool, which hung `dvc repro` in CI (a worker stuck on an
    # inherited lock); one process takes well under a second for our corpus.
    ranked = find_label_issues(labels=given, pred_probs=proba[index], multi_label=True, n_jobs=1,
                               return_indices_ranked_by="self_confidence")[:top]
    picked = index[ranked]
    return pd.DataFrame({
        "paragraph_id": rows["paragraph_id"].to_numpy()[picked],
        "article_id": rows["article_id"].to_numpy()[picked],
        "quality": get_label_quality_scores(given, proba[index])[ranked].round(4),
        "given": [named(t) for t in truth[picked]],
        "model_suggests": [named(p >= 0.5) for p in proba[picked]],
        "text": rows["text"].to_numpy()[picked],
    }, columns=columns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals evaluate", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="paragraphs table from `split`")
    parser.add_argument("--model", type=Path, required=True, help="model bundle from `train` (for the gold sets)")
    parser.add_argument("--predictions", type=Path, required=True, help="predictions table from `crossvalidate`")
    parser.add_argument("--rules", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True, help="directory for plot data and images")
    parser.add_argument("--errors", type=Path, required=True)
    parser.add_argument("--rules-report", type=Path, required=True)
    parser.add_argument("--label-issues", type=Path, required=True, help="CSV of suspect gold labels (cleanlab)")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    tracking.mode()  # refuse a bad switch value before any work
    fitted, card = bundle.load(args.model)
    model_sha256 = bundle.sha256(args.model / bundle.MODEL)
    settings = params["evaluate"]
    rules = rules_mod.load_rules(args.rules)
    rows = training_rows(read_table(args.data), params["train"]["use_weak_labels"])
    gold = rows["label_source"].eq("gold").to_numpy()
    predicted = predictions.read(rows, args.predictions, settings["holdout_source"])
    _, proba, pred, fold_of = predicted[predictions.CV]
    tested, held_proba, held_pred, _ = predicted[predictions.HOLDOUT]

    truth = model.labels_matrix(rows)
    baseline = rules_mod.apply(rules, rows["text"]).to_numpy(dtype=np.int8)
    metrics = {
        "cv": scored(truth, proba, pred, fold_of, gold),
        "baseline": scored(truth, baseline.astype(float), baseline, fold_of, gold),
        "slices": slices(rows, truth, proba, pred, gold),
        "cv_by_language": {code: scored(truth, proba, pred, fold_of, gold & rows["lang"].eq(code).to_numpy())
                           for code in sorted(rows.loc[gold, "lang"].unique())
                           if (gold & rows["lang"].eq(code).to_numpy()).sum() >= MIN_SLICE},
        "holdout": holdout(rows, settings["holdout_source"], tested, held_proba, held_pred, params["seed"]),
        "real_text": goldsets.evaluate(fitted, card["thresholds"], settings.get("real_text") or {},
                                       tracking.repo_root(), params["seed"]),
    }
    rule_report = rules_mod.report(rules, rows.loc[gold, "text"], rows[gold])
    error_table = errors(rows, truth, proba, pred, gold, settings["errors_per_signal"])

    write_json(args.metrics, metrics)
    write_json(args.rules_report, rule_report)
    with atomic_path(args.errors) as tmp:
        error_table.to_csv(tmp, index=False, lineterminator="\n")
    with atomic_path(args.label_issues) as tmp:
        label_issues(rows, truth, proba, gold, settings["label_issues"]).to_csv(tmp, index=False, lineterminator="\n")
    plots.write(args.plots, rows[gold], truth[gold], proba[gold], pred[gold])
    tracking.log_run(params, metrics, tracking.run_tags(card, model_sha256),
                     [args.metrics, args.plots, args.model / bundle.CARD, args.errors, args.rules_report,
                      args.label_issues])
    by_language = ", ".join(f"{k} {v['macro_f1']:.3f}" for k, v in metrics["cv_by_language"].items())
    line = f"evaluate: cross-validated macro-F1 {metrics['cv']['macro_f1']:.3f} ({by_language}) " \
           f"(keyword baseline {metrics['baseline']['macro_f1']:.3f}); " \
           f"trained without '{metrics['holdout']['source']}', macro-F1 on it {metrics['holdout']['macro_f1']:.3f}"
    for name, result in metrics["real_text"].items():
        line += f"; {name} " + (f"macro-F1 {result['macro_f1']:.3f} (95% {result['macro_f1_ci95_low']:.2f}-"
                                f"{result['macro_f1_ci95_high']:.2f})" if "macro_f1" in result
                                else f"not found at {result['missing']} (skipped)")
    print(line, file=sys.stderr)
    return 0
