"""A changed diagram reaches new tickets only: a ticket started before it finishes on its own
version (pinned by sha256); every deployed version is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlmodel import select

from cli.bpmn import OPERATORS
from core.db import unit_of_work
from core.models.tickets import BpmnVersion, Ticket
from core.services import bpmn_versions
from tests.conftest import login
from tests.integration.test_lifecycle import do, open_ticket, status_is, task
from workflows.engine import validate

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "ticket_lifecycle.bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
B = "{%s}" % NS["bpmn"]


def with_extra_check() -> bytes:
    """The shipped diagram plus a desk check between the manager's approval and closing."""
    tree = etree.fromstring(BPMN.read_bytes())
    process = tree.find("bpmn:process", NS)
    flow = process.find("bpmn:sequenceFlow[@sourceRef='record_approved'][@targetRef='close']", NS)
    flow.set("targetRef", "extra_check")
    check = etree.SubElement(process, f"{B}userTask", id="extra_check", name="Kiểm tra lần hai")
    ext = etree.SubElement(check, f"{B}extensionElements")
    props = etree.SubElement(ext, "{%s}properties" % NS["spiffworkflow"])
    etree.SubElement(props, "{%s}property" % NS["spiffworkflow"], name="form_schema",
                     value='{"type": "object", "required": [], "properties": {"note": {"type": "string", "maxLength": 500}}}')
    etree.SubElement(process, f"{B}sequenceFlow", id="flow_extra_check_close", sourceRef="extra_check", targetRef="close")
    lane = process.find("bpmn:laneSet/bpmn:lane[@name='coordinator']", NS)
    etree.SubElement(lane, f"{B}flowNodeRef").text = "extra_check"
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


@pytest.fixture
def client(running):  # noqa: ANN001, ANN201
    return running.client


async def through_approval(client, people, units, code: str) -> None:  # noqa: ANN001
    await do(client, people["dieuphoi"], code, "dispatch", unit_path=units["P.TRANBIEN"])
    await do(client, people["ld.tranbien"], code, "assign", decision="officer", officer="cv.tranbien")
    await do(client, people["cv.tranbien"], code, "process", outcome="result", result="Đã xử lý")
    await do(client, people["ld.tranbien"], code, "approve_result", decision="approve")


async def test_new_tickets_take_the_new_version_while_old_ones_finish_on_theirs(client, running) -> None:
    people = {n: await login(client, n) for n in ("dieuphoi", "ld.tranbien", "cv.tranbien", "admin")}
    units = {u["code"]: u["path"] for u in (await client.get("/api/v1/org-units", headers=people["admin"])).json()}
    desk = people["dieuphoi"]
    # given a ticket started on the shipped diagram
    old = await open_ticket(client, desk, "version-old-1")
    await task(client, desk, old, "dispatch")
    # when an analyst deploys a diagram with an extra check step
    xml = with_extra_check()
    assert validate(xml, "ticket_lifecycle", OPERATORS, {"coordinator", "unit_manager", "officer"}) == []
    async with unit_of_work(running.services.sessions) as session:
        new_version, created = await bpmn_versions.deploy(session, "ticket_lifecycle", xml, "analyst")
    assert created
    new = await open_ticket(client, desk, "version-new-1")
    # then the new ticket passes the extra check, the old one goes straight to closing
    await through_approval(client, people, units, new)
    await through_approval(client, people, units, old)
    await do(client, desk, new, "extra_check", note="Đã kiểm tra")
    await do(client, desk, new, "close")
    await do(client, desk, old, "close")
    await status_is(client, desk, new, "resolved")
    await status_is(client, desk, old, "resolved")
    async with running.services.sessions() as session:
        pinned = dict((await session.exec(select(Ticket.code, Ticket.bpmn_sha256))).all())
        versions = (await session.exec(select(BpmnVersion).where(BpmnVersion.process_id == "ticket_lifecycle"))).all()
    assert pinned[new] == new_version.sha256 and pinned[old] != new_version.sha256
    assert len(versions) == 2 and [v.active for v in versions if v.sha256 == new_version.sha256] == [True]
