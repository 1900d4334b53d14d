"""`relay serve | worker | migrate | user add | notify test`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from relay.settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relay", description="Asynchronous audio and video messages."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web service with embedded workers")
    serve.add_argument("--host", help="address to listen on (RELAY_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (RELAY_PORT)")
    worker = sub.add_parser("worker", help="run media workers only (for scale-out)")
    worker.add_argument("--concurrency", type=int, default=1, help="jobs at once")
    worker.add_argument("--burst", action="store_true", help="exit when no job is due")
    worker.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve this worker's Prometheus metrics there (e.g. 0.0.0.0:9102)",
    )
    sub.add_parser("migrate", help="bring the database schema up to date")
    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a user and print an API token (last line)")
    add.add_argument("--email", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--name", default="")
    add.add_argument("--admin", action="store_true")
    notify = sub.add_parser("notify", help="notification mail")
    notify_sub = notify.add_subparsers(dest="notify_command", required=True)
    test = notify_sub.add_parser("test", help="send a test mail with the current settings")
    test.add_argument("--email", required=True, help="the address to send it to")
    test.add_argument("--lang", choices=("en", "nl"), default="en")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    from relay import logs

    logs.configure(settings.log_format)
    # Alembic announces each of its plugins at INFO on every start.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if args.command == "serve":
        return _serve(settings, args.host, args.port)
    if args.command == "worker":
        if args.metrics:
            _serve_metrics(args.metrics)
        return asyncio.run(_worker(settings, args.concurrency, args.burst))
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "notify":
        return asyncio.run(_notify_test(settings, args.email, args.lang))
    return asyncio.run(_user_add(settings, args))


async def _notify_test(settings: Settings, email: str, lang: str) -> int:
    """Send one mail through RELAY_SMTP_URL and print what the server answered."""
    from relay.notify import mail, smtp

    if not settings.mail.enabled:
        print("relay: RELAY_SMTP_URL is not set, so no mail is sent.", file=sys.stderr)
        return 2
    message = mail.test_mail(to=email, sender=settings.mail.sender, lang=lang)
    try:
        answer = await smtp.send(settings.mail, message)
    except smtp.MailNotSent as exc:
        print(f"relay: the mail was not sent: {exc}", file=sys.stderr)
        return 1
    print(f"sent to {email}; the server answered: {answer}")
    return 0


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from relay import logs
    from relay.web.app import create_app

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            # Stop accepting and let requests in flight (an upload's PATCH) finish, for at
            # most timeout_graceful_shutdown; live streams end at once with a retry hint.
            super().handle_exit(sig, frame)  # type: ignore[arg-type]
            state = app.state
            for callback in getattr(state, "on_stop", []):
                state.loop.call_soon_threadsafe(callback)

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=True,
        log_level="info",
        log_config=logs.uvicorn_json_config() if settings.log_format == "json" else LOGGING_CONFIG,
        access_log=False,  # Relay writes its own (relay.web.request_log.AccessLines)
        timeout_graceful_shutdown=10,
    )
    Server(config).run()
    return 0


def _serve_metrics(address: str) -> None:
    """A worker has no web service: its metrics get a small server of their own."""
    from prometheus_client import start_http_server

    from relay import metrics  # noqa: F401 - its series exist from the first scrape on

    host, _, port = address.rpartition(":")
    start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1")


async def _worker(settings: Settings, concurrency: int, burst: bool) -> int:
    from relay import wakeups
    from relay.db import is_sqlite
    from relay.services import start_services
    from workers.runner import run_workers, stop_workers

    services = await start_services(settings)
    # SIGTERM (and Ctrl-C): stop claiming, and hand a running job back at once.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop_workers, services, stop)
    listener = None
    if not is_sqlite(settings.database_url):  # wake at once when a web process queues a job
        listen = wakeups.listen(settings.database_url, {wakeups.JOBS: services.wakeup.set})
        listener = asyncio.create_task(listen)
    try:
        await run_workers(services, concurrency, burst=burst, stop=stop)
    finally:
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        await services.engine.dispose()
    return 0


async def _migrate(settings: Settings) -> int:
    from relay import migrate
    from relay.db import create_engine

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    print("database is up to date")
    return 0


async def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    from relay import auth, migrate
    from relay.db import create_engine, sessionmaker

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.database_url)
    try:
        if settings.auto_migrate:
            await migrate.upgrade(engine)
        async with sessionmaker(engine).begin() as session:
            user = await auth.create_user(
                session, args.email, args.password, admin=args.admin, name=args.name
            )
            token = await auth.issue_api_token(session, user, "cli")
    except auth.AccountError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    role = "admin" if args.admin else "user"
    print(f"created {role} {user.email}; API token for scripts:")
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
