"""The hub's ASGI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from swagger_ui_bundle import swagger_ui_path

from casebridge import __version__
from casebridge.bootstrap import Container, bootstrap
from casebridge.config import Settings
from casebridge.domain.access import Action
from casebridge.errors import StoreError
from casebridge.gcsettings import relax_gc
from casebridge.hub.api import audit, auth, cases, codes, dossiers, exchanges, procedure, tus, v1
from casebridge.hub.api.policy import policy
from casebridge.hub.api.schemas import HealthOut, ReadyOut
from casebridge.hub.middleware import RequestContextMiddleware
from casebridge.hub.problems import install_problem_handlers
from casebridge.store.db import describe_url
from casebridge.store.migrate import current_revision, head_revision

__all__ = ["create_app"]


_FROZEN = False


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    """Build the hub. Pass a container to share one engine with the caller (tests, demo)."""
    if container is None:
        if settings is None:
            raise ValueError("create_app needs settings or a container")
        container = bootstrap(settings)
    owned = settings is not None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Warm what the first requests would otherwise pay for (the thread-pool backend),
        # then move everything imported so far out of the garbage collector's way: a long
        # transfer allocates objects by the million, and each collection would walk
        # the whole application again.
        await run_in_threadpool(lambda: None)
        global _FROZEN
        if not _FROZEN:  # once per process (tests start many apps)
            gc.collect()
            gc.freeze()
            relax_gc()
            _FROZEN = True
        yield
        if owned:
            container.close()

    app = FastAPI(
        title="casebridge hub",
        version=__version__,
        summary="Cross-department criminal case handling platform — central platform API",
        docs_url=None,  # served below from local assets: government networks have no CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.container = container
    app.add_middleware(RequestContextMiddleware)
    install_problem_handlers(app)
    app.mount(
        "/api/docs/static", StaticFiles(directory=str(swagger_ui_path)), name="swagger-static"
    )

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="casebridge hub — API",
            swagger_js_url="/api/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/api/docs/static/swagger-ui.css",
            swagger_favicon_url="/api/docs/static/favicon-32x32.png",
        )

    @app.get("/healthz", tags=["health"], openapi_extra=policy(Action.PUBLIC))
    def healthz() -> HealthOut:
        """Liveness: the process answers. Says nothing about the database."""
        return HealthOut(status="ok", version=__version__)

    @app.get(
        "/readyz",
        tags=["health"],
        response_model=ReadyOut,
        openapi_extra=policy(Action.PUBLIC),
    )
    def readyz(request: Request) -> Any:
        """Readiness: the database answers and its schema is at the code's migration head."""
        c: Container = request.app.state.container
        head = head_revision()
        body: dict[str, Any] = {
            "status": "ok",
            "database": describe_url(str(c.engine.url)),
            "schema_revision": None,
            "expected_revision": head,
        }
        try:
            body["schema_revision"] = current_revision(c.engine)
        except StoreError as exc:
            body["status"] = f"database unavailable: {exc.message}"
            return JSONResponse(body, status_code=503)
        if body["schema_revision"] != head:
            body["status"] = "migrations pending"
            return JSONResponse(body, status_code=503)
        return body

    app.include_router(v1.router)
    app.include_router(exchanges.router)
    app.include_router(procedure.router)
    app.include_router(cases.router)
    app.include_router(audit.router)
    app.include_router(auth.router)
    app.include_router(codes.router)
    app.include_router(dossiers.router)
    app.include_router(tus.router)
    return app
