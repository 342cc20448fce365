"""The article-grouped folds that thresholds and cross-validation are cut on: fixed per article, on the bundled corpus."""
import numpy as np

from pipeline import model


def folds_of(rows) -> dict[str, int]:
    """Each article's fold number."""
    return {article: fold for fold, (_, test) in enumerate(model.grouped_folds(rows, 5))
            for article in rows["article_id"].iloc[test]}


def test_articles_added_elsewhere_move_no_article_to_another_fold(table):
    """Chinese articles keep their folds when English ones are added (GroupKFold re-dealt them: data card, step 21)."""
    rows = table[0]
    alone, together = folds_of(rows[rows["lang"].eq("zh")]), folds_of(rows)
    assert len(set(alone.values())) == 5 and all(together[a] == fold for a, fold in alone.items())


def test_every_row_is_tested_once_and_no_article_is_split(table):
    rows = table[0]
    folds = model.grouped_folds(rows, 5)
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(len(rows)))
    for fit, test in folds:
        assert not set(rows["article_id"].iloc[fit]) & set(rows["article_id"].iloc[test])


def test_thresholds_folds_inside_each_evaluation_fold_are_all_used(table):
    """crossvalidate's outer folds use their own hash: with the threshold folds' hash, every outer training part would
    lack one residue, and its inner cross-validation would have an empty fold."""
    rows = table[0]
    for fit, _ in model.grouped_folds(rows, 5, model.EVALUATE_SALT):
        assert all(len(test) for _, test in model.grouped_folds(rows.iloc[fit], 5))


def test_few_articles_still_fill_every_fold(table):
    rows = table[0]
    for count in range(3, 9):
        few = rows[rows["article_id"].isin(rows["article_id"].unique()[:count])]
        folds = model.grouped_folds(few, 3)
        assert len(folds) == 3 and all(len(test) for _, test in folds), count
