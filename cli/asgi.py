"""The ASGI app factory for the whole product: API + web UI (+ the worker for `hotline up`).

`uvicorn --factory cli.asgi:create_full_app` serves it with settings from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.services import AppServices
from cli.worker import run_worker
from core.settings import Settings


async def _run_worker(services: AppServices) -> None:
    await run_worker(services.temporal, services.settings, services.notifier, services.sessions)


def create_full_app(settings: Settings | None = None, with_worker: bool = False,
                    services: AppServices | None = None) -> FastAPI:
    from ui.routes import router as ui_router
    from ui.routes import static_files

    settings = settings or (services.settings if services else Settings())
    return create_app(settings, services=services, run_worker=_run_worker if with_worker else None,
                      extra_routers=[ui_router], static_mounts=[("/static", static_files())])
