"""What every job handler is given: the shared clients, and the CPU budget of ffmpeg and
Whisper (one semaphore for all worker loops of a process)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from relay.context import Services


@dataclass
class Context:
    services: Services
    ffmpeg_slots: asyncio.Semaphore
