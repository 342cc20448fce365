"""Load benchmark of `policy-signals serve`: N concurrent loopback clients for a fixed time.

For one-paragraph requests ({"texts": [...]}) and one-article requests
({"document": ...}, a bundled seed article split like the CLI), prints requests/s,
paragraphs/s, p50/p95/p99 latency and errors (non-200 answers or failed connections),
after a reference row: the same requests split and scored in this process, one
at a time, without HTTP.

    python benchmarks/serve.py                        # 20 clients, 30 s per request kind, --workers 1 and 2
    python benchmarks/serve.py --clients 50 --seconds 10 --workers 2

Traffic goes only to 127.0.0.1; every client stops at the deadline.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from pipeline.stages.split import split_article  # noqa: E402

SEEDS = sorted((REPO / "data" / "articles" / "seeds").glob("*.txt"))


def bodies() -> dict[str, list[bytes]]:
    """Request bodies per kind: each body paragraph of the seed articles alone, and each whole article."""
    articles = [path.read_text(encoding="utf-8") for path in SEEDS]
    paragraphs = [p["text"] for a in articles for p in split_article(a) if p["kind"] == "body"]
    return {"paragraph": [json.dumps({"texts": [p]}).encode() for p in paragraphs],
            "article": [json.dumps({"document": a}).encode() for a in articles]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(model: str, workers: int, port: int, log) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--model", model, "--port", str(port),
                                "--workers", str(workers), "--log-level", "warning"], cwd=REPO, stdout=log,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.25)
    process.kill()
    log.seek(0)
    raise SystemExit(f"server did not start: {log.read().decode()[-2000:]}")


def client(port: int, payloads: list[bytes], offset: int, deadline: float, results: list) -> None:
    """One keep-alive connection sending requests back to back until the deadline."""
    connection, i = None, offset
    while time.monotonic() < deadline:
        body = payloads[i % len(payloads)]
        i += 1
        began = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            connection.request("POST", "/v1/score", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            ok = response.status == 200
            paragraphs = len(json.loads(answer)["paragraphs"]) if ok else 0
        except (OSError, http.client.HTTPException, ValueError):
            ok, paragraphs = False, 0
            connection = None
        results.append((time.perf_counter() - began, ok, paragraphs))


def load(port: int, payloads: list[bytes], clients: int, seconds: float) -> dict:
    results: list = []
    deadline = time.monotonic() + seconds
    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(port, payloads, k, deadline, results)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    latency = np.array([r[0] for r in results if r[1]]) * 1000
    return {"requests": len(results), "errors": sum(not r[1] for r in results), "rps": len(results) / wall,
            "paragraphs_s": sum(r[2] for r in results) / wall,
            **{f"p{q}": float(np.percentile(latency, q)) if len(latency) else float("nan") for q in (50, 95, 99)}}


def in_process(model: str, payloads: dict[str, list[bytes]], seconds: float) -> dict[str, float]:
    """Reference without HTTP: one thread splitting and scoring each request's texts like the server does."""
    import pandas as pd

    from pipeline.scoring.inputs import Unit
    from pipeline.scoring.score import documents, paragraphs
    from pipeline.scoring.scorer import Scorer

    scorer, out = Scorer.load(model, explain_top=3), {}
    for kind, bodies_ in payloads.items():
        docs = [documents(Unit(doc_id="d", text=b["document"]), split=True) if "document" in b else
                documents(Unit(rows=pd.DataFrame({"doc_id": ["d"], "text": b["texts"]})), split=False)
                for b in map(json.loads, bodies_)]
        count, scored, began = 0, 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            rows = paragraphs(docs[count % len(docs)])
            scored += len(scorer.score(rows["text"].tolist(), repaired=True))
            count += 1
        wall = time.perf_counter() - began
        out[kind] = (count / wall, scored / wall)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    payloads = bodies()
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.clients} clients, {args.seconds:.0f} s per row; {len(payloads['paragraph'])} distinct paragraphs "
          f"(mean {np.mean([len(json.loads(b)['texts'][0]) for b in payloads['paragraph']]):.0f} chars), "
          f"{len(payloads['article'])} articles (mean {np.mean([len(json.loads(b)['document']) for b in payloads['article']]):.0f} chars)")
    print("| workers | request | requests | requests/s | paragraphs/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, (rps, pps) in in_process(args.model, payloads, min(args.seconds, 10)).items():
        print(f"| in-process, no HTTP | one {kind} | | {rps:.1f} | {pps:.0f} | | | | |", flush=True)
    failed = 0
    for workers in args.workers:
        port = free_port()
        with tempfile.TemporaryFile() as log:
            process = start(args.model, workers, port, log)
            try:
                for kind in ("paragraph", "article"):
                    load(port, payloads[kind][:4], min(args.clients, 4), 2)  # warm-up, not counted
                    r = load(port, payloads[kind], args.clients, args.seconds)
                    failed += r["errors"]
                    print(f"| {workers} | one {kind} | {r['requests']} | {r['rps']:.1f} | {r['paragraphs_s']:.0f} | "
                          f"{r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {r['errors']} |", flush=True)
            finally:
                process.terminate()
                process.wait(30)
    print(f"# load average during the run (other processes included): {os.getloadavg()[0]:.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
