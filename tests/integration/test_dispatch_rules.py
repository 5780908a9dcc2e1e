"""Auto-dispatch rules administration (CRM-37): CRUD by the desk, references validated with
clear (Vietnamese) messages, ambiguous rules refused, every change audited, and a rule made
through the API is the one the life cycle's matcher picks."""

from __future__ import annotations

import pytest

from core.db import unit_of_work
from core.services.lifecycle import auto_dispatch_target

BASE = "/api/v1/dispatch-rules"


@pytest.fixture
async def desk(as_user) -> dict[str, str]:
    return await as_user("dieuphoi")


@pytest.fixture
async def refs(client, desk) -> dict[str, dict]:
    """A top-level field with a sub-field, a commune, and two units."""
    fields = (await client.get("/api/v1/fields", headers=desk)).json()
    env = next(f for f in fields if f["name"] == "Môi trường" and f["parent_id"] is None)
    child = next(f for f in fields if f["parent_id"] == env["id"])
    other = next(f for f in fields if f["parent_id"] is None and f["id"] != env["id"])
    units = {u["code"]: u for u in (await client.get("/api/v1/org-units", headers=desk)).json()}
    area = (await client.get(f"/api/v1/areas/{units['P.TRANBIEN']['area_id']}", headers=desk)).json()
    return {"field": env, "child": child, "other_field": other, "area": area, "ward": units["P.TRANBIEN"],
            "dept": units["SNNMT"]}


def rule_body(refs: dict[str, dict], **changes: object) -> dict[str, object]:
    return {"name": "Môi trường Trấn Biên", "field_ids": [refs["field"]["id"]], "area_id": refs["area"]["id"],
            "unit_id": refs["ward"]["id"], **changes}


async def test_the_desk_creates_lists_updates_and_deletes_a_rule(client, desk, as_user, refs) -> None:
    # given a coordinator, when they create a rule naming a field twice
    created = await client.post(BASE, headers=desk, json=rule_body(
        refs, field_ids=[refs["other_field"]["id"], refs["field"]["id"], refs["other_field"]["id"]]))
    # then it is stored with each field once, in order, active, with the default priority
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["field_ids"] == sorted({refs["field"]["id"], refs["other_field"]["id"]})
    assert (rule["active"], rule["priority"], rule["unit_id"]) == (True, 100, refs["ward"]["id"])
    assert (await client.get(f"{BASE}/{rule['id']}", headers=desk)).json() == rule

    # and the list finds it by field, area, unit and state, and not by another unit
    for params in ({"field_id": refs["other_field"]["id"]}, {"area_id": refs["area"]["id"]},
                   {"unit_id": refs["ward"]["id"]}, {"active": True}, {"q": "trấn biên"}):
        listed = (await client.get(BASE, headers=desk, params=params)).json()
        assert [r["id"] for r in listed["items"]] == [rule["id"]], params
    assert (await client.get(BASE, headers=desk, params={"unit_id": refs["dept"]["id"]})).json()["total"] == 0
    assert (await client.get(BASE, headers=desk, params={"per_page": 1, "page": 2})).json()["items"] == []

    # when they move it to the department, drop the area and deactivate it
    updated = await client.patch(f"{BASE}/{rule['id']}", headers=desk, json={
        "unit_id": refs["dept"]["id"], "area_id": None, "active": False, "priority": 5})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["unit_id"], updated.json()["area_id"], updated.json()["active"]) == (refs["dept"]["id"], None, False)
    assert (await client.get(BASE, headers=desk, params={"active": False})).json()["total"] == 1

    # and delete it
    assert (await client.delete(f"{BASE}/{rule['id']}", headers=desk)).status_code == 204
    assert (await client.get(f"{BASE}/{rule['id']}", headers=desk)).status_code == 404

    # then every change is in the audit trail, with before and after
    admin = await as_user("admin")
    entries = (await client.get("/api/v1/audit", headers=admin, params={
        "entity": "auto_dispatch_rule", "entity_id": str(rule["id"])})).json()["items"]
    assert [e["action"] for e in entries] == ["delete", "update", "create"]
    update = entries[1]
    assert update["actor_name"] == "dieuphoi"
    assert update["before"]["unit_id"] == refs["ward"]["id"] and update["after"]["unit_id"] == refs["dept"]["id"]
    assert update["before"]["active"] is True and update["after"]["active"] is False


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"field_ids": [999999, 999998]}, "field_ids", "Không tồn tại lĩnh vực 999998, 999999."),
    ({"area_id": 999999}, "area_id", "Không tồn tại khu vực 999999."),
    ({"unit_id": 999999}, "unit_id", "Không tồn tại đơn vị 999999."),
    ({"field_ids": [], "area_id": None}, "field_ids", "Quy tắc cần ít nhất một lĩnh vực hoặc một khu vực."),
])
async def test_references_are_checked_with_clear_messages(client, desk, refs, changes, field, message) -> None:
    response = await client.post(BASE, headers=desk, json=rule_body(refs, **changes))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_id"] == "validation_error"
    assert {"field": field, "message": message} in body["details"]
    assert (await client.get(BASE, headers=desk)).json()["total"] == 0


@pytest.mark.parametrize("changes", [
    {"priority": -1}, {"priority": 10001}, {"name": ""}, {"field_ids": [0]}, {"unit_id": None}, {"hack": 1},
    {"field_ids": list(range(1, 52))},
])
async def test_malformed_input_is_refused(client, desk, refs, changes) -> None:
    assert (await client.post(BASE, headers=desk, json=rule_body(refs, **changes))).status_code == 422


async def test_an_update_is_validated_too_and_changes_nothing_when_refused(client, desk, refs) -> None:
    rule = (await client.post(BASE, headers=desk, json=rule_body(refs))).json()
    for bad in ({"unit_id": 999999}, {"name": None}, {"field_ids": [], "area_id": None}):
        response = await client.patch(f"{BASE}/{rule['id']}", headers=desk, json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert (await client.get(f"{BASE}/{rule['id']}", headers=desk)).json() == rule
    assert (await client.patch(f"{BASE}/999999", headers=desk, json={"priority": 1})).status_code == 404


async def test_an_ambiguous_rule_is_refused_until_the_priority_differs(client, desk, refs) -> None:
    # given an active rule
    first = (await client.post(BASE, headers=desk, json=rule_body(refs))).json()
    # when the same fields, area and priority are sent to another unit
    clash = await client.post(BASE, headers=desk, json=rule_body(refs, name="Trùng", unit_id=refs["dept"]["id"]))
    # then it is refused, naming the rule it clashes with
    assert clash.status_code == 409
    assert clash.json()["details"][0]["field"] == "priority" and f"#{first['id']}" in clash.json()["details"][0]["message"]
    # but an inactive copy, or one with its own priority, is fine
    assert (await client.post(BASE, headers=desk, json=rule_body(refs, name="Dự phòng", active=False,
                                                                   unit_id=refs["dept"]["id"]))).status_code == 201
    assert (await client.post(BASE, headers=desk, json=rule_body(refs, name="Ưu tiên", priority=10,
                                                                   unit_id=refs["dept"]["id"]))).status_code == 201


async def test_a_rule_made_through_the_api_routes_tickets(app, client, desk, refs) -> None:
    # given a rule for the environment field in the ward's area
    await client.post(BASE, headers=desk, json=rule_body(refs))
    async with unit_of_work(app.state.services.sessions) as session:
        # then a ticket of a sub-field in that area goes to the ward, one elsewhere to no one
        unit = await auto_dispatch_target(session, refs["child"]["id"], refs["area"]["id"])
        assert unit is not None and unit.code == "P.TRANBIEN"
        assert await auto_dispatch_target(session, refs["other_field"]["id"], None) is None


async def test_officers_cannot_see_or_change_rules_and_auditors_only_read(client, as_user, refs, desk) -> None:
    rule = (await client.post(BASE, headers=desk, json=rule_body(refs))).json()
    officer, auditor = await as_user("cv.tranbien"), await as_user("kiemtra")
    assert (await client.get(BASE, headers=officer)).status_code == 403
    assert (await client.get(f"{BASE}/{rule['id']}", headers=auditor)).status_code == 200
    assert (await client.patch(f"{BASE}/{rule['id']}", headers=auditor, json={"priority": 1})).status_code == 403
    assert (await client.delete(f"{BASE}/{rule['id']}", headers=officer)).status_code == 403
