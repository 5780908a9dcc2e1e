"""Deployed BPMN diagrams, pinned by the sha256 of their content and kept forever: new tickets
start on the active version of a process; a running ticket continues on its own."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import ServiceUnavailable
from core.models.tickets import BpmnVersion


def sha256_of(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()


async def deploy(session: AsyncSession, process_id: str, xml: bytes, deployed_by: str | None) -> tuple[BpmnVersion, bool]:
    """Store (or find) this exact content and make it the active version of its process.
    The caller validates the diagram first. Returns (version, newly stored)."""
    digest = sha256_of(xml)
    version = (await session.exec(select(BpmnVersion).where(BpmnVersion.sha256 == digest))).first()
    created = version is None
    if version is None:
        version = BpmnVersion(process_id=process_id, sha256=digest, content=xml.decode("utf-8"), deployed_by=deployed_by)
    table = BpmnVersion.__table__  # type: ignore[attr-defined]
    await session.exec(sa.update(table).where(table.c.process_id == process_id, table.c.sha256 != digest)  # type: ignore[call-overload]
                       .values(active=False))
    version.active = True
    session.add(version)
    await session.flush()
    return version, created


async def active(session: AsyncSession, process_id: str) -> BpmnVersion:
    version = (await session.exec(select(BpmnVersion).where(BpmnVersion.process_id == process_id, BpmnVersion.active))).first()
    if version is None:
        raise ServiceUnavailable(component=f"BPMN process {process_id} (not deployed: run `hotline migrate`)")
    return version
