"""Administration of units, users, areas and fields: behaviour, audit trail, bad input."""

from __future__ import annotations

import psycopg
import pytest

from core.db import normalize_url
from tests.conftest import login


@pytest.fixture
async def admin(client) -> dict[str, str]:
    return await login(client, "admin")


async def audit_entries(client, admin, entity: str, entity_id: object) -> list[dict]:
    r = await client.get("/api/v1/audit", headers=admin, params={"entity": entity, "entity_id": str(entity_id)})
    return r.json()["items"]


async def test_unit_tree_move_updates_the_subtree(client, admin) -> None:
    # given a department with a sub-unit and a sub-sub-unit
    dept = (await client.post("/api/v1/org-units", headers=admin, json={"code": "SCT", "name": "Sở Công Thương", "kind": "department"})).json()
    sub = (await client.post("/api/v1/org-units", headers=admin, json={"code": "SCT.QLTM", "name": "Phòng Quản lý thương mại",
                                                                       "kind": "sub_unit", "parent_id": dept["id"]})).json()
    leaf = (await client.post("/api/v1/org-units", headers=admin, json={"code": "SCT.QLTM.T1", "name": "Tổ 1",
                                                                        "kind": "sub_unit", "parent_id": sub["id"]})).json()
    assert leaf["path"] == f"/{dept['id']}/{sub['id']}/{leaf['id']}/"
    # when the sub-unit moves under another department
    other = (await client.get("/api/v1/org-units", headers=admin)).json()
    syt = next(u for u in other if u["code"] == "SYT")
    moved = await client.patch(f"/api/v1/org-units/{sub['id']}", headers=admin, json={"parent_id": syt["id"]})
    assert moved.status_code == 200
    # then its descendants follow
    leaf_now = (await client.get(f"/api/v1/org-units/{leaf['id']}", headers=admin)).json()
    assert leaf_now["path"] == f"{syt['path']}{sub['id']}/{leaf['id']}/"
    # and a cycle is refused
    cycle = await client.patch(f"/api/v1/org-units/{sub['id']}", headers=admin, json={"parent_id": leaf["id"]})
    assert cycle.status_code == 422 and cycle.json()["details"][0]["field"] == "parent_id"
    # and the change is in the audit trail with before/after
    entries = await audit_entries(client, admin, "org_unit", sub["id"])
    update = next(e for e in entries if e["action"] == "update")
    assert update["before"]["parent_id"] == dept["id"] and update["after"]["parent_id"] == syt["id"]


async def test_unit_with_sub_units_cannot_be_deleted(client, admin) -> None:
    units = (await client.get("/api/v1/org-units", headers=admin)).json()
    sxd = next(u for u in units if u["code"] == "SXD")
    response = await client.delete(f"/api/v1/org-units/{sxd['id']}", headers=admin)
    assert response.status_code == 422


async def test_user_crud_and_audit_without_secrets(client, admin) -> None:
    units = (await client.get("/api/v1/org-units", headers=admin)).json()
    unit = next(u for u in units if u["code"] == "P.LONGBINH")
    created = await client.post("/api/v1/users", headers=admin, json={
        "username": "cv.longbinh", "password": "Long-Binh-2026!", "full_name": "Chuyên viên Long Bình",
        "code": "LB001", "phone": "0912 000 111", "email": "CV.LongBinh@DongNai.gov.vn", "unit_id": unit["id"]})
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["phone"] == "0912000111" and user["email"] == "cv.longbinh@dongnai.gov.vn"
    duplicate = await client.post("/api/v1/users", headers=admin, json={
        "username": "cv.longbinh", "password": "Long-Binh-2026!", "full_name": "X"})
    assert duplicate.status_code == 409
    updated = await client.patch(f"/api/v1/users/{user['id']}", headers=admin, json={"address": "KP 3, Long Bình"})
    assert updated.json()["address"] == "KP 3, Long Bình"
    assert (await client.delete(f"/api/v1/users/{user['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/users/{user['id']}", headers=admin)).json()["active"] is False
    entries = await audit_entries(client, admin, "user", user["id"])
    assert [e["action"] for e in entries] == ["deactivate", "update", "create"]
    assert all("password_hash" not in (e["after"] or {}) for e in entries)


@pytest.mark.parametrize(("payload", "field"), [
    ({"username": "a b", "password": "Abcdef-12345", "full_name": "X"}, "username"),
    ({"username": "abc", "password": "Abcdef-12345", "full_name": "X", "phone": "0123"}, "phone"),
    ({"username": "abc", "password": "Abcdef-12345", "full_name": "X", "email": "not-an-email"}, "email"),
    ({"username": "abc", "password": "Abcdef-12345", "full_name": "X", "unit_id": 999999}, "unit_id"),
    ({"username": "abc", "password": "short", "full_name": "X"}, "password"),
    ({"username": "abc", "password": "Abcdef-12345", "full_name": "X", "is_admin": True}, "is_admin"),
    ({"username": "abc", "password": "Abcdef-12345", "full_name": "X" * 300}, "full_name"),
    ({"username": "abc", "password": "Abcdef-12345", "full_name": "X", "code": "có dấu"}, "code"),
])
async def test_bad_user_input_names_the_field(client, admin, payload, field) -> None:
    response = await client.post("/api/v1/users", headers=admin, json=payload)
    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["details"]}


async def test_area_create_edit_delete(client, admin) -> None:
    province = (await client.get("/api/v1/areas", headers=admin, params={"level": "province"})).json()["items"][0]
    assert province["name"] == "Tỉnh Đồng Nai" and province["code"] == "75"
    communes = (await client.get("/api/v1/areas", headers=admin, params={"parent_id": province["id"], "per_page": 200})).json()
    assert communes["total"] == 95
    created = await client.post("/api/v1/areas", headers=admin, json={"code": "99999", "name": "Xã Thử Nghiệm", "kind": "Xã",
                                                                      "level": "commune", "parent_id": province["id"]})
    assert created.status_code == 201, created.text
    clash = await client.post("/api/v1/areas", headers=admin, json={"code": "99999", "name": "Trùng", "level": "commune",
                                                                    "parent_id": province["id"]})
    assert clash.status_code == 422 and clash.json()["details"][0]["field"] == "code"
    orphan = await client.post("/api/v1/areas", headers=admin, json={"code": "88888", "name": "Mồ côi", "level": "commune"})
    assert orphan.status_code == 422
    area_id = created.json()["id"]
    renamed = await client.patch(f"/api/v1/areas/{area_id}", headers=admin, json={"name": "Xã Thử Nghiệm Mới"})
    assert renamed.json()["name"] == "Xã Thử Nghiệm Mới"
    assert (await client.delete(f"/api/v1/areas/{province['id']}", headers=admin)).status_code == 422
    assert (await client.delete(f"/api/v1/areas/{area_id}", headers=admin)).status_code == 204


async def test_fields_sla_and_parent_delete_needs_second_confirmation(client, admin) -> None:
    fields = (await client.get("/api/v1/fields", headers=admin)).json()
    names = {f["name"] for f in fields if f["parent_id"] is None}
    assert {"Giao thông", "Môi trường", "Đất đai"} <= names
    traffic = next(f for f in fields if f["name"] == "Giao thông" and f["parent_id"] is None)
    children = [f for f in fields if f["parent_id"] == traffic["id"]]
    assert children
    # PERM-11: SLA hours are validated and logged
    assert (await client.patch(f"/api/v1/fields/{traffic['id']}", headers=admin, json={"sla_hours": 0})).status_code == 422
    ok = await client.patch(f"/api/v1/fields/{traffic['id']}", headers=admin, json={"sla_hours": 24})
    assert ok.json()["sla_hours"] == 24
    assert (await audit_entries(client, admin, "ticket_field", traffic["id"]))[0]["action"] == "sla.update"
    # CRM-25: deleting a parent asks for a second confirmation
    first = await client.delete(f"/api/v1/fields/{traffic['id']}", headers=admin)
    assert first.status_code == 422
    assert str(len(children)) in first.json()["message"]
    second = await client.delete(f"/api/v1/fields/{traffic['id']}", headers=admin, params={"with_children": True})
    assert second.status_code == 204
    left = {f["id"] for f in (await client.get("/api/v1/fields", headers=admin)).json()}
    assert traffic["id"] not in left and not ({c["id"] for c in children} & left)


async def test_audit_log_is_append_only(client, admin, database_url) -> None:
    await client.patch("/api/v1/me", headers=admin, json={"address": "Biên Hòa"})
    with psycopg.connect(normalize_url(database_url).replace("+psycopg", "")) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET action = 'forged'")
        conn.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM audit_log")


async def test_unknown_route_and_method_use_the_error_shape(client) -> None:
    missing = await client.get("/api/v1/khong-co")
    assert missing.status_code == 404 and missing.json()["error_id"] == "not_found"
    wrong = await client.put("/healthz")
    assert wrong.status_code == 405 and wrong.json()["error_id"] == "method_not_allowed"
    assert missing.headers["x-request-id"]


@pytest.mark.parametrize(("path", "payload", "field"), [
    ("/api/v1/me", {"locale": "fr"}, "locale"),
    ("/api/v1/menus", {"code": "X1", "name": "X", "url": "javascript:alert(1)"}, "url"),
    ("/api/v1/areas", {"code": "75/1", "name": "X", "level": "province"}, "code"),
])
async def test_patterns_are_enforced(client, admin, path, payload, field) -> None:
    method = client.patch if path == "/api/v1/me" else client.post
    response = await method(path, headers=admin, json=payload)
    assert response.status_code == 422 and field in {d["field"] for d in response.json()["details"]}
