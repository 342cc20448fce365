"""`policy-signals serve` for real: uvicorn on a free loopback port answering the same numbers as
`policy-signals score`, its limits and errors, the token, no file or URL reads, workers, and the page
in headless Chromium."""
import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import bundle
from pipeline.cli import main
from pipeline.config import InputError
from pipeline.scoring import explain
from pipeline.serving.settings import Settings, is_loopback
from pipeline.signals import SIGNALS
from pipeline.stages import register
from pipeline.thresholds import by_language
from tests.browser import open_page
from tests.code.test_tracking import TEXTS, store  # noqa: F401 (store is a fixture)
from tests.conftest import ARTICLES, REPO
from tests.live import free_port, request, serve

ARTICLE = ARTICLES / "seeds" / "000_4351a19fe1e57ad0.txt"
CHINESE = ARTICLES / "zh" / "z1-discipline-baogang-warning-education-2024.txt"
LIMITS = ["--max-body-bytes", "100000", "--max-texts", "50", "--max-text-chars", "20000"]
PAGE = """<html><head><title>Licences</title><script>document.write('tracking')</script></head><body>
<nav><a href="/">Home</a></nav><article><h1>MOFCOM tightens terbium licences</h1>
<p>The commerce ministry said on Monday it would require licences for terbium exports, raising supply risks
for Japanese magnet makers.</p><p>Separately, China Northern Rare Earth appointed a new general manager and
merged two smelting units.</p></article><footer>Copyright 2026 Example News</footer></body></html>"""


@pytest.fixture(scope="module")
def server(model_dir):
    with serve("--model", str(model_dir), *LIMITS) as live:
        yield live.port


def post(port, body, **kwargs):
    return request(port, "POST", "/v1/score", body, **kwargs)


def cli_rows(args, tmp_path, capsys) -> pd.DataFrame:
    out = tmp_path / "cli.jsonl"
    assert main(["score", *map(str, args), "-o", str(out), "--include-text"]) == 0, capsys.readouterr().err
    return pd.DataFrame([json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()])  # exact floats


def assert_same_as_cli(api: list[dict], cli: pd.DataFrame) -> None:
    """Ids, kinds, texts, exact probabilities, flags and explanations agree row by row."""
    assert len(api) == len(cli) > 0
    for got, row in zip(api, cli.to_dict(orient="records")):
        assert (got["doc_id"], got["id"], got["position"], got["kind"], got["text"], got["lang"]) == \
               (row["doc_id"], row["paragraph_id"], row["position"], row["kind"], row["text"], row["lang"])
        assert got["probabilities"] == {s: row[f"p_{s}"] for s in SIGNALS}  # float64 survives JSON exactly
        assert got["flags"] == {s: bool(row[s]) for s in SIGNALS}
        assert {s: [(t["ngram"], t["unit"], t["contribution"]) for t in terms]
                for s, terms in got["explanations"].items()} == \
               {s: explain.parse(row[f"explain_{s}"]) for s in SIGNALS if row[f"explain_{s}"]}


def test_document_and_html_page_score_exactly_like_the_cli(server, model_dir, tmp_path, capsys):
    cli = cli_rows([ARTICLE, "--model", model_dir], tmp_path, capsys)
    response = post(server, {"document": ARTICLE.read_text(encoding="utf-8"), "id": cli["doc_id"][0]})
    assert response.status == 200 and response.headers["content-type"] == "application/json"
    assert response.json()["model"]["sha256"] == bundle.sha256(model_dir / bundle.MODEL)
    assert_same_as_cli(response.json()["paragraphs"], cli)
    assert any(p["explanations"] for p in response.json()["paragraphs"])

    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    cli = cli_rows([page, "--model", model_dir], tmp_path, capsys)
    api = post(server, {"document": PAGE, "format": "html", "id": cli["doc_id"][0]}).json()["paragraphs"]
    assert_same_as_cli(api, cli)
    assert "tracking" not in json.dumps(api) and "Home" not in json.dumps(api)
    licence = next(p for p in api if "terbium exports" in p["text"])
    assert licence["flags"]["export"] and licence["explanations"]["export"]

    # a front-matter block (fenced, or bare date:/source: lines) is metadata to the CLI, so not a paragraph here
    for name, head in (("fenced.txt", "---\ndate: 2025-03-04\nsource: Reuters\ntitle: Baogang cuts output\n---\n"),
                       ("bare.txt", "date: 2025-03-04\nsource: Reuters\n\n")):
        note = tmp_path / name
        note.write_text(head + ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
        cli = cli_rows([note, "--model", model_dir], tmp_path, capsys)
        api = post(server, {"document": note.read_text(encoding="utf-8"), "id": cli["doc_id"][0]}).json()["paragraphs"]
        assert_same_as_cli(api, cli)
        assert not any("Reuters" in p["text"] for p in api) and cli["source"].eq("Reuters").all()


def test_texts_score_whole_like_the_cli_without_splitting(server, model_dir, tmp_path, capsys):
    texts = ["MOFCOM tightened export licences for terbium.\n\nA second paragraph stays in this text.",
             "Baowu opened an AI-driven smart factory with a digital twin.", "Leave a Reply",
             "Baogang\u00e2\u20ac\u2122s board merged two units.", "(opens in a new tab)"]
    ids = ["a", "b", "c", "d", "e"]
    table = tmp_path / "rows.csv"
    pd.DataFrame({"id": ids, "text": texts}).to_csv(table, index=False)
    cli = cli_rows([table, "--model", model_dir, "--no-split", "--id-column", "id"], tmp_path, capsys)
    api = post(server, {"texts": texts, "ids": ids}).json()["paragraphs"]
    assert_same_as_cli(api, cli)
    assert [p["kind"] for p in api] == ["row"] * 5
    # repaired as training paragraphs were; a text the repair empties still gets its row
    assert [p["text"] for p in api][2:] == ["Leave a Reply", "Baogang's board merged two units.", ""]
    assert [p["doc_id"] for p in post(server, {"texts": texts[1:3]}).json()["paragraphs"]] == ["0", "1"]
    assert post(server, {"texts": []}).json()["paragraphs"] == []


GBK_PAGE = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>稀土出口管制</title>'
            '</head><body><article><h1>商务部加强稀土出口管制</h1><p>商务部宣布对镝、铽等中重稀土相关物项实施出口管制，'
            '出口经营者需申请许可证。</p><p>中国北方稀土集团表示，将深化国有企业改革，推进混合所有制改革。</p></article>'
            '</body></html>')
NOTE_MD = ("# MOFCOM tightens export licences\n\nThe ministry said on Monday that dysprosium exports now need a "
           "licence.\n\n## Background\n\nBaogang merged two smelting units into one company.\n")


def test_files_sent_as_bytes_and_markdown_score_exactly_like_the_cli(server, model_dir, tmp_path, capsys):
    """`document_base64` is read as the CLI reads the file: a GB2312 page by its declared charset, Markdown without
    its heading markers, a PDF and a Word file by their bytes; Markdown sent as `document` text too."""
    from tests.documents import broker_pdf, memo_docx

    note, page = tmp_path / "note.md", tmp_path / "gbk.html"
    note.write_text(NOTE_MD, encoding="utf-8")
    page.write_bytes(GBK_PAGE.encode("gb2312"))
    files = ((note, "md"), (page, "html"), (broker_pdf(tmp_path / "broker.pdf"), "txt"),
             (memo_docx(tmp_path / "memo.docx"), "txt"))
    for path, form in files:
        cli = cli_rows([path, "--model", model_dir], tmp_path, capsys)
        sent = post(server, {"document_base64": base64.b64encode(path.read_bytes()).decode(), "format": form,
                             "id": cli["doc_id"][0]})
        assert sent.status == 200, (path.name, sent.body[:300])
        assert_same_as_cli(sent.json()["paragraphs"], cli)
    assert "中国北方稀土集团" in "".join(p["text"] for p in post(server, {
        "document_base64": base64.b64encode(page.read_bytes()).decode(), "format": "html"}).json()["paragraphs"])
    cli = cli_rows([note, "--model", model_dir], tmp_path, capsys)
    typed = post(server, {"document": NOTE_MD, "format": "md", "id": cli["doc_id"][0]}).json()["paragraphs"]
    assert_same_as_cli(typed, cli)
    assert typed[0]["text"] == "MOFCOM tightens export licences" and not any("#" in p["text"] for p in typed)


def test_model_health_and_offline_docs(server, model_dir):
    card = json.loads((model_dir / bundle.CARD).read_text())
    about = request(server, "GET", "/v1/model").json()
    assert about["sha256"] == bundle.sha256(model_dir / bundle.MODEL) and about["version"] is None
    assert about["signals"] == list(SIGNALS) and about["thresholds"] == by_language(card["thresholds"])
    assert about["default_language"] in about["thresholds"]
    assert about["metrics"]["macro_f1"] == card["metrics"]["macro_f1"] and about["explain_top"] == 3
    assert about["limits"] == {"max_body_bytes": 100000, "max_texts": 50, "max_text_chars": 20000}
    assert request(server, "GET", "/health").json() == {"status": "ok"}
    docs = request(server, "GET", "/docs")
    assert docs.status == 200 and b"swagger-ui-bundle.js" in docs.body and b"cdn." not in docs.body
    assert request(server, "GET", "/static-offline-docs/swagger-ui-bundle.js").status == 200
    schema = request(server, "GET", "/openapi.json").json()
    assert {"/v1/score", "/v1/model", "/health"} <= set(schema["paths"])


@pytest.mark.parametrize("body, status, field", [
    ({"texts": ["x"] * 51}, 422, "texts"),
    ({"texts": ["ok", "y" * 20001]}, 422, "texts[1]"),
    ({"texts": ["ok", "  \n"]}, 422, "texts[1]"),
    ({"document": "z " * 10001}, 422, "document"),
    ({"document": "\n\n".join(f"Paragraph {i} says something." for i in range(60))}, 422, "document"),
    ({"document": ""}, 422, "document"),
    ({"document": "Baogang\x00 output"}, 422, "document"),
    ({"document": "<html><body><script>track()</script></body></html>", "format": "html"}, 422, "document"),
    ({"document": "a", "format": "pdf"}, 422, "format"),
    ({"document": "Baogang raised output.", "id": ""}, 422, "id"),
    ({"document": "Baogang raised output.", "id": "/"}, 422, "id"),
    ({"texts": ["a"], "ids": ["1", "2"]}, 422, "ids"),
    ({"texts": ["a"], "format": "html"}, 422, "format"),
    ({"texts": ["a"], "document": "b"}, 422, "body"),
    ({}, 422, "body"),
    ({"texts": [1, 2]}, 422, "texts[0]"),
    ({"texts": "not a list"}, 422, "texts"),
    ({"document": ["a"]}, 422, "document"),
    ({"texts": ["ok", "\ud800 lone surrogate"]}, 422, "texts[1]"),
    ({"document_base64": "not base64 %%"}, 422, "document_base64"),
    ({"document_base64": base64.b64encode("The company\u2019s mill".encode("cp1252")).decode()}, 422,
     "document_base64"),  # not UTF-8: refused, as the CLI refuses the file
    ({"document": "{\\rtf1\\ansi Baogang raised output.}"}, 422, "document"),  # RTF, as the CLI names it
    ({"document": "a", "document_base64": "YQ=="}, 422, "body"),
    ({"url": "http://127.0.0.1/", "texts": ["a"]}, 422, "url"),
    ({"path": "/etc/passwd", "texts": ["a"]}, 422, "path"),
])
def test_violations_get_a_json_error_naming_the_field(server, body, status, field):
    response = post(server, body)
    assert (response.status, response.json()["field"]) == (status, field), response.body[:300]
    assert response.json()["error"].startswith(f"{field}: ")


def test_bodies_over_the_limit_get_413_declared_or_chunked(server):
    big = json.dumps({"texts": ["w " * 60000]}).encode()
    for chunked in (False, True):
        response = post(server, big, headers={"Content-Type": "application/json"}, chunked=chunked)
        assert response.status == 413 and response.json()["field"] == "body", response.body[:200]
    assert post(server, {"texts": ["still answering"]}).status == 200


GARBAGE = [b"", b"null", b"[]", b"{", b"}{", b"\xff\xfe\x00", b"texts=a&b=c", b'{"texts": [null]}', b'{"texts": [[]]}',
           b'{"texts": {"a": 1}}', b'{"document": 1e999999}', b'{"document": true}', b"[" * 50000 + b"]" * 50000,
           b'{"texts": ["a"], "texts": 5}', b'{"document": "\\u0000"}', b'{"texts": ["\\udc80"]}', b"\x00" * 1000,
           '{"document": "caf\u00e9"}'.encode("latin-1"), b'{"format": "html"}', b'{"document": "a", "id": 7}']
KEYS = st.sampled_from(["texts", "document", "format", "ids", "id", "x"]) | st.text(max_size=5)


def containers(inner):
    return st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30), containers,
                    max_leaves=12)


def test_garbage_bodies_and_wrong_content_types_never_give_500(server):
    for body in GARBAGE:
        for content_type in ("application/json", "text/plain", None):
            response = post(server, body, headers={"Content-Type": content_type} if content_type else {})
            assert 400 <= response.status < 500, (body[:60], content_type, response.status, response.body[:200])
            assert response.json()["error"] and response.json()["field"]
    assert request(server, "GET", "/v1/score").status == 405
    assert request(server, "GET", "/nothing/here").json()["field"] == "path"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON | st.binary(max_size=300).map(lambda b: {"raw": b}))
def test_random_bodies_get_200_or_a_json_4xx(server, body):
    raw = body["raw"] if isinstance(body, dict) and isinstance(body.get("raw"), bytes) else \
        json.dumps(body).encode()
    response = post(server, raw, headers={"Content-Type": "application/json"})
    assert response.status == 200 or (400 <= response.status < 500 and response.json()["field"]), \
        (raw[:80], response.status, response.body[:200])


class Canary(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        Canary.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"SECRET-FROM-THE-NETWORK")

    def log_message(self, *args):
        pass


def test_no_request_reads_a_file_or_fetches_a_url(server, tmp_path):
    canary = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    threading.Thread(target=canary.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{canary.server_address[1]}/leak"
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-FROM-A-FILE")
    try:
        html = (f'<!DOCTYPE html [<!ENTITY e SYSTEM "file://{secret}"><!ENTITY u SYSTEM "{url}">]>'
                f'<html><head><base href="{url}/"><link rel="stylesheet" href="{url}/css"><meta http-equiv="refresh" '
                f'content="0; url={url}/meta"><script src="{url}/js"></script></head><body><article><p>Baogang said '
                f'&e; &u; output rose, as the ministry reported on Monday in its notice.</p><img src="{url}/img">'
                f'<iframe src="{url}/frame"></iframe><p>See {url}/text and file://{secret} for details about '
                f'the quota and the new export licences for terbium.</p></article></body></html>')
        for body in ({"document": html, "format": "html"}, {"document": str(secret)},
                     {"document": f"file://{secret}"}, {"document": url}, {"texts": [url, str(secret)]},
                     {"document": f"{url}\n\n{secret}", "id": str(secret)}, {"document": "x", "id": url}):
            response = post(server, body)
            assert response.status in (200, 422), response.body[:200]
            assert b"SECRET-FROM" not in response.body
        assert Canary.hits == []
    finally:
        canary.shutdown()


def test_token_is_checked_on_every_request_but_health(model_dir):
    token = "t0ken-with-enough-characters"
    with serve("--model", str(model_dir), env={"POLICY_SIGNALS_TOKEN": token}) as live:
        assert request(live.port, "GET", "/health").status == 200
        for path in ("/", "/v1/model", "/docs", "/openapi.json", "/static-offline-docs/swagger-ui.css"):
            refused = request(live.port, "GET", path)
            assert refused.status == 401 and refused.json()["field"] == "authorization", path
            assert refused.headers["www-authenticate"].startswith("Basic")
        assert post(live.port, {"texts": ["a"]}).status == 401
        assert post(live.port, {"texts": ["a"]}, headers={"Authorization": "Bearer wrong-token-of-length"}).status == 401
        assert request(live.port, "GET", "/v1/model", headers={"Authorization": f"Bearer {token}x"}).status == 401
        assert post(live.port, {"texts": ["a"]}, headers={"Authorization": f"Bearer {token}"}).status == 200
        basic = base64.b64encode(f"analyst:{token}".encode()).decode()
        assert request(live.port, "GET", "/", headers={"Authorization": f"Basic {basic}"}).status == 200
        assert request(live.port, "GET", "/", headers={"Authorization": "Basic !!notbase64"}).status == 401


def test_other_addresses_need_a_strong_token_and_settings_are_checked():
    for args, message in ((["--host", "0.0.0.0"], "error: --host: 0.0.0.0 is reachable from other machines"),
                          (["--host", "192.168.1.5", "--token", "short"], "error: --token: must be at least 16"),
                          (["--max-texts", "0"], "error: --max-texts: must be >= 1"),
                          (["--model", "/nonexistent/model"], "error: /nonexistent/model/SHA256SUMS: model manifest")):
        done = subprocess.run([sys.executable, "-m", "pipeline", "serve", *args], cwd=REPO, capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"}, timeout=120)
        assert done.returncode == 2 and done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = subprocess.run([sys.executable, "-m", "pipeline", "serve", "--port", str(taken.getsockname()[1])],
                              cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("error: --port: cannot listen on 127.0.0.1:"), done.stderr
    assert all(map(is_loopback, ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com", "127.0.0.1.nip.io"]))
    with pytest.raises(InputError, match=r"\$POLICY_SIGNALS_MAX_TEXTS: must be an integer"):
        Settings.from_env({"POLICY_SIGNALS_MAX_TEXTS": "many"})
    assert Settings.from_env({"POLICY_SIGNALS_MAX_TEXTS": "7"}, max_texts=9).max_texts == 9
    for token in ("pässwörd-long-enough-1234", "a-long-enough-token-1234 ", "a-long-enough\ttoken-1234"):
        with pytest.raises(InputError, match="--token: must be printable ASCII without spaces"):
            Settings(host="0.0.0.0", token=token).checked()  # no client could send it in a header as it is


def test_loopback_server_answers_only_to_loopback_host_names(server):
    assert request(server, "GET", "/v1/model", headers={"Host": "attacker.example"}).status == 421
    assert request(server, "GET", "/", headers={"Host": f"localhost:{server}"}).status == 200
    assert request(server, "GET", "/health", headers={"Host": "attacker.example"}).status == 200


def test_workers_each_load_the_pinned_model_and_answer_concurrently(model_dir):
    from concurrent.futures import ThreadPoolExecutor

    with serve("--model", str(model_dir), "--workers", "2") as live:
        deadline = time.monotonic() + 120  # /health answered once the first worker was up
        while live.log().count("Application startup complete") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert live.log().count("Application startup complete") == 2
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: post(live.port, {"texts": [f"MOFCOM export licence number {i}."]}),
                                    range(24)))
        assert {a.status for a in answers} == {200}
        assert {a.json()["model"]["sha256"] for a in answers} == {bundle.sha256(model_dir / bundle.MODEL)}


def test_a_worker_that_cannot_load_the_model_stops_the_server_with_one_line(model_dir, tmp_path):
    """A worker restarted after its model's bytes changed (killed by the kernel, say) cannot load it: uvicorn
    would start it again for ever, so the server stops instead, exit 2, naming why."""
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    with serve("--model", str(copy), "--workers", "2") as live:
        deadline = time.monotonic() + 120
        while live.log().count("Application startup complete") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(live.process.pid), "-f", "spawn_main"],
                                                      capture_output=True, text=True).stdout.split()]
        assert len(workers) == 2, live.log()
        (copy / "model_card.json").write_text("{}", encoding="utf-8")  # as a retraining in place would
        os.kill(workers[0], signal.SIGKILL)
        assert live.process.wait(120) == 2, live.log()
        log = live.log()
    assert "error: serve: stopped: a worker could not load the model" in log and "SHA-256" in log, log[-2000:]
    assert log.count("Child process") <= 2  # one death, one failed start: no restart loop


@pytest.mark.parametrize("workers, signum", [("1", signal.SIGINT), ("2", signal.SIGTERM)])
def test_a_server_asked_to_stop_stops_cleanly_with_one_or_more_workers(model_dir, workers, signum):
    with serve("--model", str(model_dir), "--workers", workers) as live:
        os.kill(live.process.pid, signum)
        assert live.process.wait(60) == 0, live.log()
        log = live.log()
    assert log.rstrip().endswith("serve: stopped") and "interrupted" not in log, log[-1000:]


def test_an_ipv6_address_in_brackets_is_bound(model_dir):
    with serve("--model", str(model_dir), "--host", "[::1]", host="::1") as live:
        assert request(live.port, "GET", "/health", host="::1").status == 200


def test_concurrent_requests_batched_together_get_the_numbers_of_one_request(server):
    from concurrent.futures import ThreadPoolExecutor

    texts = [p["text"] for p in post(server, {"document": ARTICLE.read_text(encoding="utf-8")}).json()["paragraphs"]]
    together = post(server, {"texts": texts}).json()["paragraphs"]
    with ThreadPoolExecutor(len(texts)) as pool:
        alone = list(pool.map(lambda t: post(server, {"texts": [t]}).json()["paragraphs"][0], texts * 3))
    assert [(p["probabilities"], p["explanations"]) for p in alone] == \
           [(p["probabilities"], p["explanations"]) for p in together] * 3


def test_a_worker_refuses_a_model_that_changed_since_start(model_dir):
    from pipeline.serving.app import load

    with pytest.raises(InputError, match="model bytes changed since the server started"):
        load(Settings(model=str(model_dir), model_sha256="0" * 64))


def test_explanations_off_leave_numbers_unchanged(model_dir):
    from pipeline.scoring.inputs import Unit
    from pipeline.scoring.score import documents, paragraphs
    from pipeline.scoring.scorer import Scorer
    from pipeline.serving.app import records

    rows = paragraphs(documents(Unit(doc_id="d", text=ARTICLE.read_text(encoding="utf-8")), split=True))
    plain, explained = (records(rows, Scorer.load(str(model_dir), k).score(rows["text"].tolist())) for k in (0, 3))
    assert all(p["explanations"] == {} for p in plain) and any(p["explanations"] for p in explained)
    assert [p["probabilities"] for p in plain] == [p["probabilities"] for p in explained]


def test_explanation_text_reads_back_exactly():
    names = ["export licences", repr(" exp"), repr("'s; "), repr('a"b'), repr("x (y) "), "ai"]
    text = "; ".join(f"{n} ({c:+.2f})" for n, c in zip(names, [1.5, 0.25, 0.1, 0.07, 0.05, 0.01]))
    assert explain.parse(text) == [("export licences", "word", 1.5), (" exp", "char", 0.25), ("'s; ", "char", 0.1),
                                   ('a"b', "char", 0.07), ("x (y) ", "char", 0.05), ("ai", "word", 0.01)]
    assert explain.parse("") == []
    with pytest.raises(ValueError):
        explain.parse("export licences 1.5")


def test_cli_help_stays_light():
    code = ("import sys; from pipeline.cli import main; main(['--help'])\n"
            "try:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'uvicorn', 'sklearn', 'pandas', 'mlflow'}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.stdout.strip().endswith("[]") and "--max-texts" in done.stdout, done.stdout + done.stderr


def test_page_is_package_data(tmp_path):
    """What a wheel or a non-editable install would contain (setuptools' build_py) includes the page."""
    done = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                           "--build-lib", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "pipeline" / "serving" / "page.html").read_bytes() == \
        (REPO / "pipeline" / "serving" / "page.html").read_bytes()


def test_registry_alias_is_pinned_to_its_version_at_start(small_bundle, store):
    """`--model models:/policy-signals@champion` serves the version the alias named at start, even after it moves."""
    from tests.code.test_tracking import metrics

    directory, params = small_bundle
    fitted, card = bundle.load(directory)
    sha = bundle.sha256(directory / bundle.MODEL)
    register.register(fitted, card, metrics(0.80), params, sha)
    uri = "models:/policy-signals@champion"
    with serve("--model", uri, env={"MLFLOW_TRACKING_URI": store.get_tracking_uri()}) as live:
        client = store.MlflowClient()  # the alias moves to a version 2 of the same artefact
        first = client.get_model_version("policy-signals", "1")
        second = client.create_model_version("policy-signals", first.source, first.run_id)
        client.set_registered_model_alias("policy-signals", "champion", second.version)
        about = request(live.port, "GET", "/v1/model").json()
        assert (about["model"], about["name"], about["version"], about["sha256"]) == \
               ("models:/policy-signals/1", "policy-signals", "1", sha)
        assert about["metrics"] == {"cv.macro_f1": 0.8, "cv.micro_f1": 0.8, "holdout.macro_f1": 0.75}
        assert about["thresholds"] == by_language(card["thresholds"])
        scored = post(live.port, {"texts": TEXTS}).json()["paragraphs"]
        assert [[p["probabilities"][s] for s in SIGNALS] for p in scored] == fitted.predict_proba(TEXTS).tolist()
        assert "policy-signals version 1" in live.log()


def test_latest_is_pinned_and_logged_model_and_run_uris_are_served_as_named(small_bundle, store):
    """Every MLflow URI `score` takes: `latest` is pinned to its version like an alias; a logged model's URI
    (a version's source, models:/m-<id>) and a run's name one model already and have no registry version."""
    from pipeline.scoring.scorer import Scorer, pin
    from pipeline.serving.model_info import describe
    from tests.code.test_tracking import metrics

    directory, params = small_bundle
    fitted, card = bundle.load(directory)
    register.register(fitted, card, metrics(0.80), params, bundle.sha256(directory / bundle.MODEL))
    version = store.MlflowClient().get_model_version("policy-signals", "1")
    assert pin("models:/policy-signals/latest") == "models:/policy-signals/1"
    for uri in (version.source, f"runs:/{version.run_id}/model"):
        assert pin(uri) == uri
        about = describe(uri, Scorer.load(uri).thresholds)
        assert (about["model"], about["version"], about["thresholds"]) == (uri, None, by_language(card["thresholds"]))


def test_a_registry_uri_with_no_store_is_named_and_no_store_is_made(tmp_path, monkeypatch, capsys):
    """Outside the project with no MLFLOW_TRACKING_URI, pinning an alias would create an empty mlflow.db."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    for uri in ("models:/policy-signals@champion", "models:/policy-signals/latest", "models:/policy-signals/1"):
        assert main(["serve", "--model", uri, "--port", str(free_port())]) == 2
        assert f"error: {uri}: no MLflow store at {tmp_path / 'mlflow.db'}" in capsys.readouterr().err
    assert not (tmp_path / "mlflow.db").exists()


MARKS_JS = """[...document.querySelectorAll('#results li.para')].map(li => ({
    id: li.dataset.id, title: li.title,
    chips: [...li.querySelectorAll('.chip')].map(c => c.dataset.signal),
    marks: [...li.querySelectorAll('mark')].map(m => [m.dataset.signal, m.textContent])}))"""


def joined(text: str) -> str:
    """Word characters only, lower case: 'Export, licences' and 'export licences' match; so do '稀土' and '稀 土'."""
    return "".join(re.findall(r"\w+", text.lower()))


def check_page(dom: list[dict], expected: list[dict]) -> None:
    """The DOM shows every paragraph, a chip per flagged signal, and highlights only explaining n-grams."""
    assert [p["id"] for p in dom] == [p["id"] for p in expected]
    marked = 0
    for shown, paragraph in zip(dom, expected):
        assert shown["chips"] == [s for s in SIGNALS if paragraph["flags"][s]]
        assert shown["title"].startswith("Probabilities: ideology ")
        words = {s: {joined(t["ngram"]) for t in terms if t["unit"] == "word"}
                 for s, terms in paragraph["explanations"].items()}
        for signal, text in shown["marks"]:
            assert signal in paragraph["explanations"]
            if any(joined(text) in w for w in words.values()):
                marked += 1
        if any(words.values()):
            assert shown["marks"], paragraph["text"]
    assert marked > 0


def test_page_in_headless_chromium_scores_typed_dropped_and_chosen_articles_in_english_and_chinese(server, tmp_path):
    article = ARTICLE.read_text(encoding="utf-8")
    expected = post(server, {"document": article}).json()["paragraphs"]
    html_file, text_file = tmp_path / "licences.html", tmp_path / "second.txt"
    html_file.write_text(PAGE, encoding="utf-8")
    text_file.write_bytes((ARTICLES / "seeds" / "001_7a7fa9385e29f0b9.txt").read_bytes())
    # a file goes as its bytes, its name (without the suffix) the document's id
    expected_html = post(server, {"document": PAGE, "format": "html", "id": "licences"}).json()["paragraphs"]
    expected_text = post(server, {"document": text_file.read_text(encoding="utf-8"), "id": "second"}).json()["paragraphs"]
    chinese_file = tmp_path / "chinese.txt"
    chinese_file.write_bytes(CHINESE.read_bytes())
    expected_zh = post(server, {"document": CHINESE.read_text(encoding="utf-8"), "id": "chinese"}).json()["paragraphs"]
    from tests.documents import broker_pdf

    pdf_file = broker_pdf(tmp_path / "broker.pdf")
    expected_pdf = post(server, {"document_base64": base64.b64encode(pdf_file.read_bytes()).decode(),
                                 "id": "broker"}).json()["paragraphs"]
    count = "document.querySelectorAll('#results li.para').length"
    first = "document.querySelector('#results li.para')?.dataset.id"
    about = request(server, "GET", "/v1/model").json()  # a bundle: its card's figure, named as such
    figure = f"out-of-fold macro-F1 {about['metrics']['macro_f1']:.3f}"

    async def flow(page):
        await page.send("Page.reload")  # with the DevTools domains on from the first byte (CSP errors show)
        await page.wait_for("document.readyState === 'complete' && $('about').textContent.startsWith('Model bundle')")
        assert figure in await page.js("$('about').textContent")
        await page.js("$('text').focus()")
        await page.send("Input.insertText", text=article)
        for _ in range(3):  # keyboard only: textarea -> format -> file -> Score
            await page.key("Tab", "Tab", 9)
        assert await page.js("document.activeElement.id") == "submit"
        await page.key("Enter", "Enter", 13, text="\r")
        await page.wait_for(f"{count} > 0")
        typed = await page.js(MARKS_JS), await page.js("$('status').textContent")

        await page.drop("#text", html_file)
        await page.wait_for(f"{count} === {len(expected_html)} && {first} === {expected_html[0]['id']!r}")
        dropped = await page.js(MARKS_JS)

        await page.choose_file("#file", text_file)
        await page.wait_for(f"{count} === {len(expected_text)} && {first} === {expected_text[0]['id']!r}")
        chosen = await page.js(MARKS_JS)

        await page.choose_file("#file", pdf_file)  # the server reads it, as the CLI would
        await page.wait_for(f"{count} === {len(expected_pdf)} && {first} === {expected_pdf[0]['id']!r}")
        pdf = await page.js(MARKS_JS), await page.js("$('text').value")

        await page.drop("#text", chinese_file)
        await page.wait_for(f"{first} === {expected_zh[0]['id']!r}")
        return typed, dropped, chosen, pdf, await page.js(MARKS_JS), page.errors

    typed, dropped, chosen, pdf, chinese, errors = asyncio.run(
        open_page(f"http://127.0.0.1:{server}/", tmp_path / "profile", flow))
    check_page(typed[0], expected)
    assert typed[1].startswith(f"{len(expected)} paragraphs")
    check_page(dropped, expected_html)
    check_page(chosen, expected_text)
    check_page(pdf[0], expected_pdf)
    assert pdf[1] == "\n\n".join(p["text"] for p in expected_pdf)  # the text box shows what was scored
    check_page(chinese, expected_zh)
    assert {p["lang"] for p in expected_zh} >= {"zh"} and errors == []
