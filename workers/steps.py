"""Progress of the media pipeline, reported step by step, and running steps side by side."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

OnStep = Callable[[str, str], Awaitable[None]]  # (step, "running" | "done" | ...) -> None
T = TypeVar("T")


class Steps:
    """Tells `on_step` when each step runs, ends, fails or is skipped."""

    def __init__(self, on_step: OnStep | None) -> None:
        self.on_step = on_step

    async def skip(self, step: str) -> None:
        await self._say(step, "skipped")

    @contextlib.asynccontextmanager
    async def run(self, step: str) -> AsyncIterator[None]:
        await self._say(step, "running")
        try:
            yield
        except Exception:
            await self._say(step, "failed")
            raise
        await self._say(step, "done")

    async def wrap(self, step: str, work: Callable[[], Awaitable[T]]) -> T:
        async with self.run(step):
            return await work()

    async def _say(self, step: str, state: str) -> None:
        if self.on_step is not None:
            await self.on_step(step, state)


async def run_all(*works: Coroutine[Any, Any, T]) -> list[T]:
    """Run side by side; on a failure cancel the rest (killing their processes) and raise
    the first error itself, not an ExceptionGroup, so callers catch MediaError as usual."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(work) for work in works]
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]
