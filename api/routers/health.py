"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.readiness import all_components
from api.search import get_search_index

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Every required component answers; the state of each one")
async def readyz(services: ServicesDep) -> JSONResponse:
    # the search component counts on this process's own index reader, not a new one per probe
    states = await all_components(services.engine, services.temporal, services.settings,
                                  search_reader=lambda: get_search_index(services))
    ready = all(s.ok for s in states if s.required)
    body = {"status": "ready" if ready else "not_ready", "components": {s.name: s.as_dict() for s in states}}
    return JSONResponse(body, status_code=200 if ready else 503)
