"""Agreement between two label files, and the data card's generated counts."""
import pandas as pd

from pipeline.corpus import agreement, datacard, labels
from tests.conftest import LABELS, REPO


def test_kappa_and_changes_per_signal(tmp_path):
    first = labels.read_labels(LABELS).head(400)
    second = first.copy()
    second.loc[second.index[:40], "risk"] = 1 - second.loc[second.index[:40], "risk"]
    table = agreement.compare(first, second).set_index("signal")
    assert table.loc["ideology", "kappa"] == 1.0 and table.loc["ideology", "changed"] == 0
    assert table.loc["risk", "changed"] == 40 and 0 < table.loc["risk", "kappa"] < 1
    assert table.loc["any", "changed"] == 40


def test_data_card_counts_are_current(table):
    card = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    block = datacard.counts(table[0], pd.read_csv(REPO / "data" / "catalog.csv"))
    assert f"{datacard.START}\n{block}\n{datacard.END}" in card, "run `policy-signals datacard`"


def test_data_card_counts_an_uncatalogued_article_and_says_so(tmp_path, capsys):
    """An article missing from catalog.csv was dropped from the genre table without a word."""
    import shutil

    from pipeline.cli import main
    from tests.conftest import ARTICLES
    shutil.copytree(ARTICLES / "seeds", tmp_path / "articles" / "seeds")
    (tmp_path / "articles" / "desk").mkdir()
    (tmp_path / "articles" / "desk" / "mofcom.txt").write_text("MOFCOM tightened export licences for terbium.\n")
    from pipeline.stages.split import build_paragraphs
    paragraphs = build_paragraphs(tmp_path / "articles")
    gold = labels.read_labels(LABELS)
    new = paragraphs.loc[paragraphs["article_id"].eq("mofcom"), ["paragraph_id", "text"]].assign(
        **{s: 0 for s in ("ideology", "reform", "technology", "risk")}, export=1)
    labels.write_labels(pd.concat([gold[gold["paragraph_id"].isin(paragraphs["paragraph_id"])], new]),
                        tmp_path / "labels.csv")
    card = tmp_path / "card.md"
    card.write_text(f"# Card\n{datacard.START}\nold\n{datacard.END}\n")
    args = ["datacard", "--articles", str(tmp_path / "articles"), "--labels", str(tmp_path / "labels.csv"),
            "--catalog", str(REPO / "data" / "catalog.csv")]
    assert main([*args, "--card", str(card)]) == 0
    err = capsys.readouterr().err
    assert f"warning: 1 labelled article(s) not in {REPO / 'data' / 'catalog.csv'} (first: mofcom)" in err, err
    assert "| desk | (not in the catalog) | 1 | 1 | 0 | 0 | 1 | 0 | 0 |" in card.read_text()
    assert main([*args, "--card", str(tmp_path / "nope.md")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope.md'}: cannot read the data card (No such file or " \
                                      "directory)\n"
