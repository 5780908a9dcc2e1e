"""What the unit and area administration relies on in the services: the maps of new provinces,
code clashes told in Vietnamese with the holder's name, a unit's phone, and deletes that would
silently strip tickets, units or dispatch rules of their area or unit being refused (409)."""

from __future__ import annotations

import pytest

from tests.conftest import login

VI = {"Accept-Language": "vi"}


@pytest.fixture
async def admin(client) -> dict[str, str]:
    return {**await login(client, "admin"), **VI}


async def _province(client, admin) -> dict:
    return (await client.get("/api/v1/areas", headers=admin, params={"level": "province", "scheme": "2025"})).json()["items"][0]


async def test_a_new_province_can_be_put_on_the_legacy_map_with_its_districts(client, admin) -> None:
    # given the legacy (three-level) map, when an administrator creates a province on it
    province = await client.post("/api/v1/areas", headers=admin, json={
        "code": "98", "name": "Tỉnh Thử Nghiệm", "level": "province", "scheme": "legacy"})
    assert province.status_code == 201, province.text
    assert province.json()["scheme"] == "legacy"
    # then a district and a commune under it follow its map
    district = await client.post("/api/v1/areas", headers=admin, json={
        "code": "981", "name": "Huyện Thử", "level": "district", "parent_id": province.json()["id"], "scheme": "2025"})
    assert district.status_code == 201, district.text
    assert district.json()["scheme"] == "legacy"
    # and a province without a scheme is on the map in force (2025)
    plain = await client.post("/api/v1/areas", headers=admin, json={"code": "97", "name": "Tỉnh Khác", "level": "province"})
    assert plain.json()["scheme"] == "2025"


async def test_the_2025_map_has_no_districts(client, admin) -> None:
    province = await _province(client, admin)
    answer = await client.post("/api/v1/areas", headers=admin, json={
        "code": "99901", "name": "Huyện Cũ", "level": "district", "parent_id": province["id"]})
    assert answer.status_code == 422
    assert answer.json()["details"] == [{"field": "level", "message": "bản đồ hành chính áp dụng từ ngày 01/7/2025 không còn cấp huyện"}]


async def test_a_code_clash_names_the_area_that_holds_the_code(client, admin) -> None:
    province = await _province(client, admin)
    answer = await client.post("/api/v1/areas", headers=admin, json={
        "code": "75", "name": "Trùng mã", "level": "commune", "parent_id": province["id"]})
    assert answer.status_code == 422
    assert answer.json()["details"] == [{"field": "code", "message": "mã 75 đã được dùng cho Tỉnh Đồng Nai"}]


async def test_an_area_a_unit_names_cannot_be_deleted(client, admin) -> None:
    # given a new commune that a new unit works in
    province = await _province(client, admin)
    area = (await client.post("/api/v1/areas", headers=admin, json={
        "code": "99902", "name": "Xã Đang Dùng", "level": "commune", "parent_id": province["id"]})).json()
    unit = (await client.post("/api/v1/org-units", headers=admin, json={
        "code": "UBND.DANGDUNG", "name": "UBND xã Đang Dùng", "kind": "commune", "area_id": area["id"]})).json()
    # when the administrator deletes the commune, then it is refused: deactivate it instead
    refused = await client.delete(f"/api/v1/areas/{area['id']}", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["message"] == "Khu vực vẫn đang được dữ liệu khác sử dụng; hãy ngừng sử dụng thay vì xóa."
    # and once the unit no longer names it, it can go
    assert (await client.patch(f"/api/v1/org-units/{unit['id']}", headers=admin, json={"area_id": None})).status_code == 200
    assert (await client.delete(f"/api/v1/areas/{area['id']}", headers=admin)).status_code == 204


async def test_a_unit_with_dispatch_rules_cannot_be_deleted(client, admin) -> None:
    # given a unit that an auto-dispatch rule sends tickets to
    unit = (await client.post("/api/v1/org-units", headers=admin, json={
        "code": "PHONG.QUYTAC", "name": "Phòng có quy tắc", "kind": "department"})).json()
    field = (await client.get("/api/v1/fields", headers=admin)).json()[0]
    rule = await client.post("/api/v1/dispatch-rules", headers=admin, json={
        "name": "Quy tắc thử", "field_ids": [field["id"]], "unit_id": unit["id"]})
    assert rule.status_code == 201, rule.text
    # when the administrator deletes the unit, then it is refused and the rule is still there
    refused = await client.delete(f"/api/v1/org-units/{unit['id']}", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["message"] == "Đơn vị vẫn đang được dữ liệu khác sử dụng; hãy ngừng sử dụng thay vì xóa."
    assert (await client.get(f"/api/v1/dispatch-rules/{rule.json()['id']}", headers=admin)).status_code == 200


async def test_a_unit_keeps_its_phone_in_national_form(client, admin) -> None:
    created = await client.post("/api/v1/org-units", headers=admin, json={
        "code": "PHONG.DT", "name": "Phòng có điện thoại", "kind": "department", "phone": "+84 251 3822 222"})
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "02513822222"
    bad = await client.patch(f"/api/v1/org-units/{created.json()['id']}", headers=admin, json={"phone": "123"})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "phone"
