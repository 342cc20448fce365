"""Micro-batching: the paragraphs of concurrent requests are scored together, one model call at a time.

One call for many paragraphs costs far less per paragraph than one call per request
(the vectoriser's fixed cost), and one scoring thread per worker keeps concurrent
requests from fighting over the GIL. Nothing waits on purpose: a batch is whatever
arrived while the previous one was scored. Every paragraph is scored independently
of its batch-mates, so the numbers are those of a request scored alone.
"""
from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from pipeline.scoring.scorer import Scorer


class Batcher:
    """Queue texts from many requests; a background task scores them in batches of at most `limit` texts."""

    def __init__(self, scorer: Scorer, limit: int):
        self.scorer, self.limit = scorer, limit
        self.pending: deque[tuple[list[str], asyncio.Future]] = deque()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="score")
        self.wakeup: asyncio.Event | None = None
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.wakeup = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self.task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def score(self, texts: list[str]) -> pd.DataFrame:
        """The Scorer's frame for these texts (index 0..n-1), scored in some batch."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((texts, future))
        self.wakeup.set()
        return await future

    def _take(self) -> list[tuple[list[str], asyncio.Future]]:
        batch, size = [], 0
        while self.pending and (not batch or size + len(self.pending[0][0]) <= self.limit):
            batch.append(self.pending.popleft())
            size += len(batch[-1][0])
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.pending:
                batch = self._take()
                try:
                    scored = await loop.run_in_executor(  # the rows of `documents`: repaired already
                        self.executor, lambda texts: self.scorer.score(texts, repaired=True),
                        [text for texts, _ in batch for text in texts])
                except Exception as exc:  # noqa: BLE001 (handed to each waiting request)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                start = 0
                for texts, future in batch:
                    if not future.done():  # a request may have been cancelled meanwhile
                        future.set_result(scored.iloc[start:start + len(texts)].reset_index(drop=True))
                    start += len(texts)
