"""Start-up of the shared clients, for `relay serve` (the app's lifespan) and for the
processes that run without the web app (`relay worker`)."""

from __future__ import annotations

from relay import links, migrate
from relay.context import Services
from relay.db import create_engine, sessionmaker
from relay.settings import Settings
from relay.storage import open_storage


async def start_services(settings: Settings) -> Services:
    """Create the engine and storage, migrate when allowed, make sure folders exist."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.database_url, settings.database_pool)
    try:
        if settings.auto_migrate:
            await migrate.upgrade(engine)
        storage = open_storage(settings)
        await storage.check()
    except BaseException:
        await engine.dispose()
        raise
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessionmaker(engine),
        storage=storage,
        secret=links.load_secret(settings.secret_key, settings.data_dir / "secret.key"),
    )
