"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.readiness import all_components

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Every required component answers; the state of each one")
async def readyz(services: ServicesDep) -> JSONResponse:
    states = await all_components(services.engine, services.temporal, services.settings)
    ready = all(s.ok for s in states if s.required)
    body = {"status": "ready" if ready else "not_ready", "components": {s.name: s.as_dict() for s in states}}
    return JSONResponse(body, status_code=200 if ready else 503)
