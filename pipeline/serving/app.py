"""The HTTP app: POST /v1/score, GET /v1/model, GET /health, the page at /, OpenAPI docs at /docs.

Scoring goes through `Scorer` and documents are split by `pipeline.scoring.score.paragraphs`,
exactly as `policy-signals score` does. Every error is JSON naming the field at fault.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import sys
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import pandas as pd
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

from pipeline.config import InputError
from pipeline.reporting.metadata import front_matter
from pipeline.scoring import explain
from pipeline.scoring.inputs import Unit, bytes_unit
from pipeline.scoring.score import documents, paragraphs
from pipeline.scoring.scorer import Scorer
from pipeline.serving.batching import Batcher
from pipeline.serving.model_info import describe
from pipeline.serving.settings import Settings, is_loopback
from pipeline.signals import SIGNALS

OPEN_PATHS = {"/health"}  # answered without a token or a Host check
WORKER_ERROR = "POLICY_SIGNALS_WORKER_ERROR_FILE"  # where a worker that cannot start says why (not a setting)


class ApiError(Exception):
    """A request the server refuses: HTTP status, the field at fault, and why."""

    def __init__(self, status: int, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.status, self.field, self.problem = status, field, problem


def error_response(status: int, field: str, problem: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": f"{field}: {problem}", "field": field}, status_code=status, headers=headers)


def _encodable(text: str) -> str:
    """Lone surrogates (legal in JSON escapes) cannot be UTF-8: refuse them here, not at the response."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"not valid Unicode (lone surrogate at character {exc.start})") from None
    return text


Text = Annotated[StrictStr, AfterValidator(_encodable)]  # per item, so an error names texts[i]
DOCUMENT_FIELDS = ("texts", "document", "document_base64")


class ScoreRequest(BaseModel):
    """One of `texts` (each scored whole, repaired as training paragraphs were), `document` (an article's text)
    or `document_base64` (a file's bytes): a document is read and split into paragraphs like the CLI."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"texts": ["MOFCOM tightened export licences for terbium."]},
        {"document": "Baogang to cut output\n\nThe group said on Monday...", "format": "txt", "id": "note-17"}]})

    texts: list[Text] | None = Field(None, description="paragraphs, each scored whole")
    ids: list[Text] | None = Field(None, description="one id per text (default: its index)")
    document: Text | None = Field(None, description="an article, split into paragraphs like the CLI")
    document_base64: StrictStr | None = Field(None, description="a file's bytes in base64, read as the CLI reads "
                                                                "standard input: PDF and Word by their bytes, "
                                                                "anything else as `format` says")
    format: Literal["txt", "md", "html"] = Field("txt", description="how to read a document that is not PDF or Word")
    id: Text = Field("document", description="the document's id (paragraph ids derive from it)")


class Term(BaseModel):
    ngram: str
    unit: Literal["word", "char"]
    contribution: float


class Paragraph(BaseModel):
    doc_id: str
    id: str
    position: int
    kind: str
    text: str
    lang: str = Field(description="detected language; flags use its thresholds, else the default language's")
    probabilities: dict[str, float]
    flags: dict[str, bool]
    explanations: dict[str, list[Term]] = Field(description="per flagged signal, its top n-grams")


class ScoreResponse(BaseModel):
    model: dict
    paragraphs: list[Paragraph]


def _check_length(field: str, text: str, settings: Settings) -> str:
    """`text` itself, when within --max-text-chars; else the 422 naming `field`."""
    if len(text) > settings.max_text_chars:
        raise ApiError(422, field, f"{len(text)} characters, more than the limit of {settings.max_text_chars}")
    return text


def request_documents(body: ScoreRequest, settings: Settings) -> pd.DataFrame:
    """The request as the CLI's document rows (`pipeline.scoring.score.documents`), after its limits are checked."""
    if sum(getattr(body, name) is not None for name in DOCUMENT_FIELDS) != 1:
        raise ApiError(422, "body", 'give one of "texts" (a list of strings), "document" (a string) or '
                                    '"document_base64" (a file\'s bytes)')
    if body.texts is not None:
        if "format" in body.model_fields_set or "id" in body.model_fields_set:
            raise ApiError(422, "format" if "format" in body.model_fields_set else "id",
                           'only applies to "document" or "document_base64"')
        if len(body.texts) > settings.max_texts:
            raise ApiError(422, "texts", f"{len(body.texts)} texts, more than the limit of {settings.max_texts}")
        if body.ids is not None and len(body.ids) != len(body.texts):
            raise ApiError(422, "ids", f"{len(body.ids)} ids for {len(body.texts)} texts")
        for i, text in enumerate(body.texts):
            if not _check_length(f"texts[{i}]", text, settings).strip():
                raise ApiError(422, f"texts[{i}]", "empty text")
        ids = body.ids if body.ids is not None else [str(i) for i in range(len(body.texts))]
        return documents(Unit(rows=pd.DataFrame({"doc_id": ids, "text": body.texts})), split=False)
    if body.ids is not None:
        raise ApiError(422, "ids", 'only applies to "texts"')
    field = "document" if body.document is not None else "document_base64"
    if body.document is not None:
        _check_length(field, body.document, settings)  # before reading it
        data = body.document.encode("utf-8")
    else:
        try:
            data = base64.b64decode(body.document_base64, validate=True)
        except binascii.Error as exc:
            raise ApiError(422, field, f"not valid base64 ({exc})") from None
    try:  # the CLI's readers of standard input: its file types by their bytes, NULs and empty text refused
        unit = bytes_unit(data, field, f".{body.format}", body.id)
    except InputError as exc:
        raise ApiError(422, field, str(exc).split(": ", 1)[1]) from exc
    text = _check_length(field, unit.text, settings)  # a file's text: known once read
    if unit.meta is None:  # a date/source/title block is the document's metadata, not a paragraph (as in the CLI)
        text = front_matter(text)[1]
    try:  # paragraph ids start with the id without its suffix, as the CLI's do
        return documents(Unit(doc_id=body.id, text=text, furniture=unit.furniture), split=True)
    except ValueError as exc:  # '', '/', '.': no name to take a suffix from
        raise ApiError(422, "id", f"not usable as a document id ({exc})") from exc


def split(body: ScoreRequest, settings: Settings) -> pd.DataFrame:
    """The request's paragraphs, cut by the CLI's splitter (texts kept whole), within the paragraph limit."""
    rows = paragraphs(request_documents(body, settings))
    if len(rows) > settings.max_texts:
        raise ApiError(422, "document", f"splits into {len(rows)} paragraphs, more than the limit of "
                                        f"{settings.max_texts}")
    return rows


def records(rows: pd.DataFrame, scored: pd.DataFrame) -> list[dict]:
    """Scored paragraphs as JSON objects (plain Python numbers, explanations as structured terms)."""
    proba = scored[[f"p_{s}" for s in SIGNALS]].to_numpy().tolist()
    flags = scored[list(SIGNALS)].to_numpy().astype(bool).tolist()
    why = scored[[f"explain_{s}" for s in SIGNALS]].to_numpy().tolist() if f"explain_{SIGNALS[0]}" in scored \
        else [[""] * len(SIGNALS)] * len(scored)
    out = []
    for row, lang, p, f, w in zip(rows.itertuples(index=False), scored["lang"], proba, flags, why):
        out.append({"doc_id": row.doc_id, "id": row.paragraph_id, "position": int(row.position), "kind": row.kind,
                    "text": row.text, "lang": lang, "probabilities": dict(zip(SIGNALS, p)),
                    "flags": dict(zip(SIGNALS, f)),
                    "explanations": {s: [{"ngram": n, "unit": u, "contribution": c} for n, u, c in explain.parse(e)]
                                     for s, e in zip(SIGNALS, w) if e}})
    return out


def _request_host(headers: Headers) -> str | None:
    try:
        return urlsplit("//" + headers.get("host", "")).hostname
    except ValueError:
        return None


def _authorized(header: str, token: str) -> bool:
    """`Bearer <token>` (API clients) or HTTP Basic with the token as password (browsers); constant time."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode("utf-8"), token.encode("utf-8"))


class Guard:
    """ASGI wrapper run before the app reads anything: the token, on loopback the Host header, and a
    declared body size over the limit (FastAPI's own limit catches undeclared, chunked bodies).

    The Host check stops a web page from reaching a loopback server through a rebound DNS name.
    """

    def __init__(self, app, settings: Settings):
        self.app, self.token, self.loopback = app, settings.token, is_loopback(settings.host)
        self.max_body = settings.max_body_bytes

    def refusal(self, headers: Headers) -> JSONResponse | None:
        if self.loopback and not is_loopback(_request_host(headers) or "-"):
            return error_response(421, "host", "this server answers only to loopback names (127.0.0.1, localhost, [::1])")
        if self.token and not _authorized(headers.get("authorization", ""), self.token):
            return error_response(401, "authorization", "missing or wrong token (send 'Authorization: Bearer <token>')",
                                  headers={"WWW-Authenticate": 'Basic realm="policy-signals"'})
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return error_response(413, "body", f"{declared} bytes, larger than the limit of {self.max_body} bytes")
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            refusal = self.refusal(Headers(scope=scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _problem(error: dict) -> dict:
    """One pydantic error as {field, message}: ('body', 'texts', 3) -> 'texts[3]'; never echoes the input."""
    loc = tuple(error.get("loc", ()))
    parts = [p for p in loc if p != "body"]
    if error.get("type") == "json_invalid":
        return {"field": "body", "message": f"not valid JSON ({error.get('ctx', {}).get('error', 'decode error')} "
                                            f"at character {parts[0] if parts else 0})"}
    if not parts or not isinstance(parts[0], str):
        return {"field": "body", "message": 'expected a JSON object (Content-Type: application/json) with "texts" '
                                            'or "document"'}
    name = parts[0] if parts[0].isidentifier() else json.dumps(parts[0])  # an odd key stays visible: "" or "a b"
    field = name + "".join(f"[{p}]" if isinstance(p, int) else f"[{json.dumps(p)}]" for p in parts[1:])
    return {"field": field, "message": str(error.get("msg", "invalid"))}


def page_response() -> HTMLResponse:
    """The page, with a Content-Security-Policy that allows its own inline script and style and nothing else."""
    page = resources.files("pipeline.serving").joinpath("page.html").read_text(encoding="utf-8")
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
                      for block in re.findall(r"<(?:script|style)>(.*?)</(?:script|style)>", page, re.S))
    policy = (f"default-src 'none'; script-src {hashes}; style-src {hashes}; connect-src 'self'; img-src data:; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return HTMLResponse(page, headers={"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
                                       "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"})


def create_app(settings: Settings, scorer: Scorer, about: dict):
    """The ASGI app around one loaded model; `about` is what GET /v1/model reports."""
    from pipeline import __doc__ as summary

    batcher = Batcher(scorer, settings.max_texts)

    @asynccontextmanager
    async def lifespan(app):
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPIOffline(title="policy-signals", summary=summary, version=about.get("version") or "bundle",
                         max_body_size=settings.max_body_bytes, lifespan=lifespan)
    limits = {"max_body_bytes": settings.max_body_bytes, "max_texts": settings.max_texts,
              "max_text_chars": settings.max_text_chars}
    info = {**about, "explain_top": scorer.explain_top, "limits": limits}
    brief = {k: about[k] for k in ("name", "version", "sha256")}
    page = page_response()

    @app.exception_handler(ApiError)
    async def refused(request: Request, exc: ApiError):
        return error_response(exc.status, exc.field, exc.problem)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = [_problem(e) for e in exc.errors()] or [{"field": "body", "message": "invalid request"}]
        first = problems[0]
        return JSONResponse({"error": f"{first['field']}: {first['message']}", "field": first["field"],
                             "errors": problems}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code == 400:  # FastAPI's one message for a body it could not decode (not UTF-8, too deep)
            return error_response(422, "body", "not readable as JSON (it must be UTF-8 JSON, nested at most "
                                               "a few hundred levels)")
        field = {404: "path", 405: "method", 413: "body"}.get(exc.status_code, "request")
        problem = (f"larger than the limit of {settings.max_body_bytes} bytes" if exc.status_code == 413
                   else str(exc.detail).lower())
        return error_response(exc.status_code, field, problem, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        return error_response(500, "server", f"internal error ({type(exc).__name__})")

    @app.post("/v1/score", response_model=ScoreResponse, responses={
        413: {"description": "request body larger than max_body_bytes"},
        422: {"description": "invalid field, or a limit exceeded; `field` names it"}})
    async def score(body: ScoreRequest):
        """Score `texts` each whole (repaired as training paragraphs were), or read a document (`document`
        text as txt, md or html; `document_base64` also PDF or Word) and split it into paragraphs, like the CLI."""
        rows = await run_in_threadpool(split, body, settings)
        scored = await batcher.score(rows["text"].tolist())
        return await run_in_threadpool(lambda: JSONResponse({"model": brief, "paragraphs": records(rows, scored)}))

    @app.get("/v1/model")
    async def model() -> dict:
        """Name, version or bundle hash, signals, thresholds per language, headline metrics and request limits."""
        return info

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return page

    return Guard(app, settings)


def load(settings: Settings) -> tuple[Scorer, dict]:
    """Load and verify the model like the CLI does, and describe it; refuse other bytes than pinned."""
    scorer = Scorer.load(settings.model, settings.explain)
    about = describe(settings.model, scorer.thresholds)
    if settings.model_sha256 and about["sha256"] != settings.model_sha256:
        raise InputError(settings.model, f"model bytes changed since the server started (sha256 "
                                         f"{about['sha256']}, expected {settings.model_sha256})")
    return scorer, about


def from_environment():
    """uvicorn's app factory in each worker process: settings from POLICY_SIGNALS_*, the model loaded once.
    A worker that cannot load it (its bytes changed since the start, say) leaves why in the parent's
    WORKER_ERROR file and exits with uvicorn's start-up failure code, so the server stops instead of
    restarting the worker for ever."""
    try:
        settings = Settings.from_env()
        return create_app(settings, *load(settings))
    except InputError as exc:
        from uvicorn.config import STARTUP_FAILURE

        if os.environ.get(WORKER_ERROR):
            Path(os.environ[WORKER_ERROR]).write_text(str(exc), encoding="utf-8")
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(STARTUP_FAILURE) from None
