"""/metrics in Prometheus's text format (each request is counted by relay.web.request_log).
Readable with RELAY_METRICS_TOKEN as a bearer token, or from an address in
RELAY_METRICS_NETWORKS."""

from __future__ import annotations

import hmac
import ipaddress

from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response

from relay import metrics
from relay.db import utcnow
from relay.errors import Forbidden
from relay.settings import Settings
from relay.web.http import services


def _allowed(request: Request, settings: Settings) -> bool:
    given = request.headers.get("authorization", "")
    if settings.metrics_token and hmac.compare_digest(given, f"Bearer {settings.metrics_token}"):
        return True
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        # Relayed by a proxy the server does not trust to name the client (an ingress in
        # the cluster's network): the address is the proxy's, and the caller is outside.
        return False
    try:
        address = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in settings.metrics_networks)


async def page(request: Request) -> Response:
    svc = services(request)
    if not _allowed(request, svc.settings):
        raise Forbidden(
            "Metrics are open to RELAY_METRICS_NETWORKS, or with RELAY_METRICS_TOKEN as a "
            "bearer token."
        )
    hub = getattr(svc, "hub", None)
    async with svc.reads.begin() as session:
        await metrics.read_shared(session, utcnow(), hub.subscribers if hub else 0)
    # Prometheus's text format, or OpenMetrics when the scraper asks for it.
    encode, kind = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(REGISTRY), headers={"Content-Type": kind})
