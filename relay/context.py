"""The shared clients that the lifespan creates once and every request and job uses."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from relay.db import Sessionmaker
from relay.settings import Settings
from relay.storage import Storage

if TYPE_CHECKING:  # relay.live is web code; workers import this module without Starlette
    from relay.live import EventHub


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: Sessionmaker
    storage: Storage
    secret: bytes  # signs share-link tokens (relay.links)
    # Set after a job is committed so that embedded workers start it without polling delay.
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Live updates; `relay serve` starts one per process, workers and CLI commands have none.
    hub: EventHub | None = None
    # Argon2 checks (sign-ins, passcodes) running at once: each takes a core and 64 MiB.
    hash_slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.hash_slots = asyncio.Semaphore(self.settings.limits.hash_concurrency)
