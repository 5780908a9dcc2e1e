"""Every role against every route group (Casbin), and unit scoping of users."""

from __future__ import annotations

import pytest

from tests.conftest import login

ROLES = ["admin", "coordinator", "agent", "unit_manager", "officer", "auditor", "citizen", "api_client"]
STAFF = {"admin", "coordinator", "agent", "unit_manager", "officer", "auditor"}
EVERYONE = set(ROLES)
ADMIN = {"admin"}

# (method, path, roles allowed). Written by hand from the product's rules, not derived
# from the policy table, so a policy change that breaks a rule fails here.
MATRIX: list[tuple[str, str, set[str]]] = [
    ("GET", "/api/v1/me", EVERYONE),
    ("GET", "/api/v1/users", STAFF),
    ("POST", "/api/v1/users", ADMIN),
    ("GET", "/api/v1/org-units", STAFF | {"api_client"}),
    ("POST", "/api/v1/org-units", ADMIN),
    ("GET", "/api/v1/roles", {"admin", "auditor"}),
    ("POST", "/api/v1/roles", ADMIN),
    ("GET", "/api/v1/menus", {"admin", "coordinator", "auditor"}),
    ("POST", "/api/v1/menus", ADMIN),
    ("GET", "/api/v1/groups", {"admin", "auditor"}),
    ("POST", "/api/v1/groups", ADMIN),
    ("GET", "/api/v1/areas", EVERYONE),
    ("POST", "/api/v1/areas", ADMIN),
    ("GET", "/api/v1/fields", EVERYONE),
    ("POST", "/api/v1/fields", ADMIN),
    ("PATCH", "/api/v1/fields/1", ADMIN),
    ("DELETE", "/api/v1/areas/999999", ADMIN),
    ("GET", "/api/v1/audit", {"admin", "auditor"}),
    ("GET", "/api/v1/tickets", EVERYONE),
    ("POST", "/api/v1/tickets", {"admin", "coordinator", "agent", "citizen", "api_client"}),
    ("GET", "/api/v1/tickets/1022-2025-000001/attachments", EVERYONE),
    ("POST", "/api/v1/tickets/1022-2025-000001/attachments", {"admin", "coordinator", "agent", "citizen", "api_client"}),
    ("GET", "/api/v1/tickets/1022-2025-000001/process", EVERYONE),
    ("POST", "/api/v1/tickets/1022-2025-000001/process/retry", {"admin", "coordinator"}),
    ("GET", "/api/v1/inbox", {"admin", "coordinator", "agent", "unit_manager", "officer"}),
    ("POST", "/api/v1/inbox/1/claim", {"admin", "coordinator", "agent", "unit_manager", "officer"}),
    ("GET", "/api/v1/notifications", STAFF | {"citizen"}),
    # auto-dispatch rules: the desk maintains them, auditors may read them
    ("GET", "/api/v1/dispatch-rules", {"admin", "coordinator", "auditor"}),
    ("GET", "/api/v1/dispatch-rules/999999", {"admin", "coordinator", "auditor"}),
    ("POST", "/api/v1/dispatch-rules", {"admin", "coordinator"}),
    ("PATCH", "/api/v1/dispatch-rules/999999", {"admin", "coordinator"}),
    ("DELETE", "/api/v1/dispatch-rules/999999", {"admin", "coordinator"}),
    # notification settings: my own for everyone; another user's through user administration
    ("GET", "/api/v1/me/notification-settings", EVERYONE),
    ("PUT", "/api/v1/me/notification-settings", EVERYONE),
    ("GET", "/api/v1/users/1/notification-settings", STAFF),
    ("PUT", "/api/v1/users/1/notification-settings", ADMIN),
]


@pytest.fixture
async def role_headers(client) -> dict[str, dict[str, str]]:
    """One user per role, each in a group that grants exactly that role."""
    admin = await login(client, "admin")
    roles = {r["code"]: r["id"] for r in (await client.get("/api/v1/roles", headers=admin)).json()}
    units = (await client.get("/api/v1/org-units", headers=admin)).json()
    unit_id = next(u["id"] for u in units if u["code"] == "P.TRANBIEN")
    headers: dict[str, dict[str, str]] = {}
    for role in ROLES:
        group = await client.post("/api/v1/groups", headers=admin, json={"code": f"ONLY_{role}", "name": role,
                                                                          "role_ids": [roles[role]]})
        assert group.status_code == 201, group.text
        user = await client.post("/api/v1/users", headers=admin, json={
            "username": f"only.{role}", "password": "Role-Test-2026!", "full_name": f"Người dùng {role}",
            "unit_id": unit_id, "group_ids": [group.json()["id"]]})
        assert user.status_code == 201, user.text
        headers[role] = await login(client, f"only.{role}", "Role-Test-2026!")
    return headers


async def test_every_role_on_every_route_group(client, role_headers) -> None:
    failures = []
    for method, path, allowed in MATRIX:
        for role in ROLES:
            body = {} if method in ("POST", "PATCH", "PUT") else None
            response = await client.request(method, path, headers=role_headers[role], json=body)
            refused = response.status_code == 403
            if refused == (role in allowed):
                failures.append(f"{role} {method} {path}: {response.status_code}")
            if refused:
                assert response.json()["error_id"] == "forbidden"
    assert not failures, "\n".join(failures)


async def test_officer_sees_only_their_units_users(client) -> None:
    # given an officer of Phường Trấn Biên
    officer = await login(client, "cv.tranbien")
    # when they list users
    listed = (await client.get("/api/v1/users", headers=officer)).json()
    # then only users of their unit subtree come back
    assert {u["username"] for u in listed["items"]} == {"ld.tranbien", "cv.tranbien"}
    assert listed["total"] == 2


async def test_another_units_user_is_not_found_for_an_officer(client) -> None:
    admin = await login(client, "admin")
    everyone = (await client.get("/api/v1/users", headers=admin, params={"per_page": 200})).json()["items"]
    other = next(u for u in everyone if u["username"] == "cv.moitruong")
    officer = await login(client, "cv.tranbien")
    response = await client.get(f"/api/v1/users/{other['id']}", headers=officer)
    assert response.status_code == 404
    assert "cv.moitruong" not in response.text


async def test_manager_of_a_department_sees_its_sub_units(client) -> None:
    manager = await login(client, "ld.moitruong")
    names = {u["username"] for u in (await client.get("/api/v1/users", headers=manager)).json()["items"]}
    assert names == {"ld.moitruong", "cv.moitruong"}


async def test_custom_role_inheriting_a_system_role(client) -> None:
    admin = await login(client, "admin")
    role = await client.post("/api/v1/roles", headers=admin, json={"code": "GIAMSAT_PHUONG", "name": "Giám sát phường",
                                                                  "inherits": "auditor"})
    assert role.status_code == 201, role.text
    group = await client.post("/api/v1/groups", headers=admin, json={"code": "GSP", "name": "GSP", "role_ids": [role.json()["id"]]})
    await client.post("/api/v1/users", headers=admin, json={"username": "giamsat", "password": "Giam-Sat-2026!",
                                                          "full_name": "Giám sát", "group_ids": [group.json()["id"]]})
    headers = await login(client, "giamsat", "Giam-Sat-2026!")
    assert (await client.get("/api/v1/audit", headers=headers)).status_code == 200
    assert (await client.post("/api/v1/fields", headers=headers, json={})).status_code == 403
