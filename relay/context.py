"""The shared clients that the lifespan creates once and every request and job uses."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from relay.db import Sessionmaker
from relay.settings import Settings
from relay.storage import Storage


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: Sessionmaker
    storage: Storage
    # Set after a job is committed so that embedded workers start it without polling delay.
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
