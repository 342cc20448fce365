"""`policy-signals serve`: the scoring API and the reading page on one address.

Binds 127.0.0.1 by default; any other address needs a token (--token or
$POLICY_SIGNALS_TOKEN), checked on every request except /health. Each setting
also reads POLICY_SIGNALS_<NAME> (e.g. POLICY_SIGNALS_MAX_TEXTS); flags win.
Exit code 2: bad settings or a model that fails verification (one line on stderr); 0 once stopped by Ctrl-C
or SIGTERM.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from pipeline import interrupts
from pipeline.config import InputError
from pipeline.serving.settings import Settings


def parse(argv: list[str] | None) -> tuple[Settings, argparse.Namespace]:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="policy-signals serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help=f"bundle directory or MLflow URI such as models:/policy-signals@champion "
                                         f"(default {defaults.model}); an alias is pinned to its version at start")
    parser.add_argument("--host", help=f"address to bind (default {defaults.host})")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes, each loading the model once")
    parser.add_argument("--token", help="required for non-loopback addresses (default $POLICY_SIGNALS_TOKEN)")
    parser.add_argument("--explain", type=int, metavar="K", help=f"top K n-grams per flagged signal "
                                                                 f"(default {defaults.explain}; 0: off)")
    parser.add_argument("--max-body-bytes", type=int, help=f"default {defaults.max_body_bytes}")
    parser.add_argument("--max-texts", type=int, help=f"texts per request, and paragraphs per document "
                                                      f"(default {defaults.max_texts})")
    parser.add_argument("--max-text-chars", type=int, help=f"characters per text or document "
                                                           f"(default {defaults.max_text_chars})")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)
    if args.workers < 1 or not 0 < args.port < 65536:
        parser.error("--workers must be >= 1 and --port in 1..65535")
    settings = Settings.from_env(model=args.model, host=args.host, token=args.token, explain=args.explain,
                                 max_body_bytes=args.max_body_bytes, max_texts=args.max_texts,
                                 max_text_chars=args.max_text_chars)
    return settings, args


def check_port(host: str, port: int) -> None:
    """Fail in one line before loading the model if the address cannot be bound (in use, not ours)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise InputError("--port", f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def main(argv: list[str] | None = None) -> int:
    settings, args = parse(argv)
    check_port(settings.host, args.port)
    import uvicorn

    from pipeline.serving import app as app_mod
    from pipeline.scoring.scorer import pin

    settings = replace(settings, model=pin(settings.model))
    scorer, about = app_mod.load(settings)  # verified here, so a bad model is one line before binding
    settings = replace(settings, model_sha256=about["sha256"] or "")
    name = (f"{about['name']} version {about['version']}" if about["version"] else
            f"bundle sha256 {about['sha256'][:12]}" if about["sha256"] else "model")
    address = f"[{settings.host.strip('[]')}]" if ":" in settings.host else settings.host
    print(f"serve: {name} from {settings.model} on http://{address}:{args.port}/ "
          f"(API /v1/score, docs /docs){'; token required' if settings.token else ''}", file=sys.stderr)
    common = {"host": settings.host.strip("[]"), "port": args.port, "log_level": args.log_level,
              "server_header": False}
    with tempfile.TemporaryDirectory(prefix="policy-signals-serve-") as scratch:
        failed = Path(scratch) / "worker-error"
        try:  # Ctrl-C or SIGTERM is how a server is asked to stop: exit 0 after uvicorn's graceful shutdown
            if args.workers == 1:
                uvicorn.run(app_mod.create_app(settings, scorer, about), **common)
            else:  # each worker builds its app from the environment and loads the same pinned model
                del scorer
                os.environ.update(settings.env(), **{app_mod.WORKER_ERROR: str(failed)})
                uvicorn.run("pipeline.serving.app:from_environment", factory=True, workers=args.workers, **common)
        except (KeyboardInterrupt, interrupts.Terminated):  # one worker: uvicorn raises the signal again
            pass
        interrupts.forget()  # noted even where uvicorn swallowed the exception: not an interruption here
        if failed.exists():
            raise InputError("serve", f"stopped: a worker could not load the model ({failed.read_text('utf-8')})")
    print("serve: stopped", file=sys.stderr)
    return 0
