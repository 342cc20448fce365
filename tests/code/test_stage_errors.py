"""Bad input stops a stage with one line naming the file, before any output is overwritten."""
import shutil

import pytest

from pipeline.cli import COMMANDS, main
from tests.conftest import ARTICLES, LABELS, PARAMS, RULES


@pytest.fixture
def workspace(tmp_path):
    shutil.copytree(ARTICLES / "seeds", tmp_path / "articles" / "seeds")
    for source in (LABELS, RULES, PARAMS):
        shutil.copy(source, tmp_path / source.name)
    out = tmp_path / "out"
    out.mkdir()
    (out / "paragraphs.parquet").write_bytes(b"previous output")
    (out / "report.json").write_text("previous report")
    return tmp_path


def split(ws, capsys):
    code = main(["split", "--articles", str(ws / "articles"), "--labels", str(ws / "labels.csv"),
                 "--rules", str(ws / "rules.yaml"), "--out", str(ws / "out/paragraphs.parquet"),
                 "--report", str(ws / "out/report.json")])
    return code, capsys.readouterr().err


def assert_refused(ws, capsys, expected: str):
    code, err = split(ws, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err
    assert (ws / "out/paragraphs.parquet").read_bytes() == b"previous output"
    assert (ws / "out/report.json").read_text() == "previous report"


def test_split_succeeds_on_the_bundled_articles(workspace, capsys):
    code, err = split(workspace, capsys)
    assert code == 0 and "68 paragraphs from 5 articles" in err
    assert "labels name paragraphs that no longer exist" in err  # team labels have no articles here


def test_non_utf8_article(workspace, capsys):
    (workspace / "articles/seeds/latin1.txt").write_bytes("Baogang’s plan".encode("cp1252"))
    assert_refused(workspace, capsys, "latin1.txt: not valid UTF-8")


def test_empty_article(workspace, capsys):
    (workspace / "articles/seeds/empty.txt").write_text("\n\n")
    assert_refused(workspace, capsys, "empty.txt: article is empty")


def test_furniture_only_article(workspace, capsys):
    (workspace / "articles/seeds/shell.txt").write_text("Leave a Reply\n\nSpread the word:\n")
    assert_refused(workspace, capsys, "shell.txt: article has no paragraphs of content")


@pytest.mark.parametrize("name", ["copy.txt", "copy.md"])
def test_an_article_copied_under_another_name(workspace, capsys, name):
    """A copy was split as a second article: labelled, its paragraphs would sit in two grouped CV folds."""
    seed = sorted((workspace / "articles" / "seeds").iterdir())[0]
    (workspace / "articles" / "new").mkdir()
    (workspace / "articles" / "new" / name).write_text(seed.read_text(encoding="utf-8") + "\nShare this article\n",
                                                      encoding="utf-8")  # page furniture aside, the same
    assert_refused(workspace, capsys, f"{seed.name}: has the same paragraphs as article new/{name}; keep one of "
                                      "the two")  # found second in file order


def test_labels_with_unknown_signal(workspace, capsys):
    text = (workspace / "labels.csv").read_text().replace("risk,text", "risk,politics,text", 1)
    (workspace / "labels.csv").write_text(text)
    assert_refused(workspace, capsys, "labels.csv: unknown signal 'politics'")


def test_rules_with_bad_regex(workspace, capsys):
    rules = workspace / "rules.yaml"
    rules.write_text(rules.read_text().replace("rules:\n", "rules:\n  risk2:\n    x: 'a'\n", 1))
    assert_refused(workspace, capsys, "rules.yaml: unknown signal 'risk2'")


@pytest.mark.parametrize("rule, expected", [
    ("    x:\n", "rules.yaml: rule 'risk.x' must be a non-empty regex string, got None"),
    ("    x: ''\n", "rules.yaml: rule 'risk.x' must be a non-empty regex string, got ''"),
    ("    x: [mine, dam]\n", "rules.yaml: rule 'risk.x' must be a non-empty regex string, got ['mine', 'dam']"),
    ("    x: '  '\n", "rules.yaml: rule 'risk.x' must be a non-empty regex string, got '  '"),
    ("    x: 'mine|'\n", "rules.yaml: rule 'risk.x' ('mine|') matches empty text, so every paragraph"),
])
def test_rules_with_an_empty_or_list_pattern(workspace, capsys, rule, expected):
    rules = workspace / "rules.yaml"
    rules.write_text(rules.read_text().replace("  risk:\n", "  risk:\n" + rule, 1))
    assert_refused(workspace, capsys, expected)


def test_rules_with_a_signal_given_twice(workspace, capsys):
    rules = workspace / "rules.yaml"
    text = rules.read_text()
    line = text[:text.index("  risk:\n")].count("\n") + 1 + 2  # after the two lines added at the top
    rules.write_text(text.replace("rules:\n", "rules:\n  risk:\n    y: 'b'\n", 1))
    assert_refused(workspace, capsys, f"rules.yaml: duplicate key 'risk' (line {line})")


def test_train_refuses_bad_params_before_touching_the_model(workspace, capsys, tmp_path):
    params = workspace / "params.yaml"
    params.write_text(params.read_text().replace("C: ", "C: -", 1))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.joblib").write_bytes(b"old model")
    code = main(["train", "--data", str(workspace / "out/paragraphs.parquet"), "--params", str(params),
                 "--out", str(tmp_path / "models")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "param 'train.C' must be a number > 0" in err
    assert (tmp_path / "models" / "model.joblib").read_bytes() == b"old model"


def test_an_unknown_command_is_named(capsys):
    assert main(["bogus"]) == 2
    usage, error = capsys.readouterr().err.splitlines()
    assert usage.startswith("usage: policy-signals {") and error == "error: unknown command 'bogus'"
    assert main([]) == 2 and "error" not in capsys.readouterr().err  # no command at all: the usage alone
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out.split("commands:\n")[1].splitlines()  # each command with what it does
    assert [line.split()[0] for line in listed] == list(COMMANDS) and all(len(line.split()) > 2 for line in listed)


def test_models_outside_the_project_says_where_to_run_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["models", "--model", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: params.yaml: no such file: run `policy-signals models` in "
                                              "the project folder")


def test_an_interrupted_stage_under_dvc_says_how_to_get_its_outputs_back(monkeypatch, capsys):
    """DVC removed the stage's previous outputs before it ran, so 'no partial output was left' alone would leave
    a user looking at an empty models/."""
    import types

    from pipeline import cli

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setenv("DVC_STAGE", "train")
    monkeypatch.setattr(cli.importlib, "import_module", lambda name: types.SimpleNamespace(main=interrupted))
    assert main(["train"]) == 130
    assert capsys.readouterr().err.startswith("policy-signals train: interrupted; no partial output was left\n"
                                              "hint: DVC removed the outputs of stage 'train' before it ran; "
                                              "`dvc checkout` restores")
    monkeypatch.setenv("DVC_STAGE", "register")  # no outputs to remove: no hint
    assert main(["register"]) == 130
    assert capsys.readouterr().err == "policy-signals register: interrupted; no partial output was left\n"
