"""Prometheus metrics: request counts and latencies, match counts, index sizes.

Nothing here names a hash or an entry: labels are route templates (``/api/v1/banks/{name}``,
never the filled-in path), methods, status codes, match types and signal types. ``/metrics`` is
public unless ``metrics_token_env`` names a variable holding a bearer token.

Each app has its own registry (tests build many apps in one process). The middleware is plain
ASGI: Starlette's ``BaseHTTPMiddleware`` would cost a task per request on the hot path.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keepdown.api.context import MatchView, get_context
from keepdown.api.errors import content_responses, error_responses
from keepdown.errors import AuthError

__all__ = ["ApiMetrics", "MetricsMiddleware", "count_matches", "router"]

router = APIRouter(tags=["health"])


class ApiMetrics:
    """The app's metrics, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "keepdown_api_requests",
            "API requests",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "keepdown_api_request_seconds",
            "API request latency",
            ("route",),
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.matches = Counter(
            "keepdown_matches",
            "Bank entries matched by API requests",
            ("match_type", "signal_type"),
            registry=self.registry,
        )
        self.matched_inputs = Counter(
            "keepdown_matched_inputs",
            "Inputs (uploads, URLs, hashes) that matched at least one bank entry",
            registry=self.registry,
        )
        self._match_children: dict[tuple[str, str], Any] = {}
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.refusals = Counter(
            "keepdown_api_refusals",
            "Requests refused for their key (401) or role (403), by error code",
            ("code",),
            registry=self.registry,
        )
        self.index_entries = Gauge(
            "keepdown_index_entries",
            "Active entries in the match index",
            ("signal_type",),
            registry=self.registry,
        )

    def count_matches(self, views: Sequence[MatchView]) -> None:
        """Count one input's matches (by match and signal type, never by bank or value)."""
        if not views:
            return
        self.matched_inputs.inc()
        for view in views:
            key = (view.match_type, view.signal_type)
            child = self._match_children.get(key)
            if child is None:  # labels() takes a lock and builds a key: once per pair
                child = self._match_children[key] = self.matches.labels(*key)
            child.inc()

    def observe(self, template: str, method: str, status: int, seconds: float) -> None:
        """Count and time one request (label children cached: this runs on every request)."""
        key = (template, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = self._request_children[key] = (
                self.requests.labels(template, method, str(status)),
                self.latency.labels(template),
            )
        children[0].inc()
        children[1].observe(seconds)

    def refresh_index(self, status: dict[str, Any]) -> None:
        for signal_type, count in status.get("entries", {}).items():
            self.index_entries.labels(signal_type).set(count)


def count_matches(request: Request, views: Sequence[MatchView]) -> None:
    """Count an input's matches in the app's metrics."""
    api_metrics: ApiMetrics = request.app.state.metrics
    api_metrics.count_matches(views)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            self.metrics.observe(template, scope["method"], status, time.perf_counter() - start)


@router.get(
    "/metrics",
    summary="Prometheus metrics (public unless metrics_token_env is set)",
    response_class=Response,
    responses={
        **content_responses("Metrics", "text/plain"),
        **error_responses(401),
    },
)
async def metrics(request: Request) -> Response:
    ctx = get_context(request)
    expected = ctx.settings.secret("metrics_token_env")
    if expected:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            raise AuthError("a bearer token is needed for /metrics")
    api_metrics: ApiMetrics = request.app.state.metrics
    api_metrics.refresh_index(ctx.matcher.status())
    return Response(generate_latest(api_metrics.registry), media_type=CONTENT_TYPE_LATEST)
