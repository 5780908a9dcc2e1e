"""Sign-in, sessions, lockout, password change (CRM-01, PERM-01…03) over HTTP."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from core.db import normalize_url
from tests.conftest import DEMO_PASSWORD, login


async def test_token_then_me(client) -> None:
    # given the demo admin
    headers = await login(client, "admin")
    # when they ask who they are
    me = await client.get("/api/v1/me", headers=headers)
    # then they get their profile and roles, and no secret
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "admin" and body["roles"] == ["admin"]
    assert "password_hash" not in body


async def test_wrong_password_is_401_in_vietnamese(client) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "admin", "password": "sai-mat-khau"})
    assert response.status_code == 401
    body = response.json()
    assert body["error_id"] == "invalid_credentials"
    assert body["message"] == "Sai tên đăng nhập hoặc mật khẩu."
    assert response.headers["www-authenticate"] == "Bearer"


async def test_unknown_user_answers_like_a_wrong_password(client) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "khong-ton-tai", "password": "x"})
    assert response.status_code == 401
    assert response.json()["error_id"] == "invalid_credentials"


async def test_english_when_asked(client) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"},
                                 headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.json()["message"] == "Wrong username or password."


async def test_ten_wrong_passwords_lock_the_account(client) -> None:
    # given ten wrong attempts
    for _ in range(10):
        r = await client.post("/api/v1/auth/token", data={"username": "dieuphoi", "password": "wrong-password"})
        assert r.status_code == 401
    # when the right password is tried
    response = await client.post("/api/v1/auth/token", data={"username": "dieuphoi", "password": DEMO_PASSWORD})
    # then the account is locked for a while, with a clear message
    assert response.status_code == 423
    assert response.json()["error_id"] == "account_locked"
    assert "15" in response.json()["message"]


async def test_lock_expires(client, database_url) -> None:
    for _ in range(10):
        await client.post("/api/v1/auth/token", data={"username": "dienthoai", "password": "wrong-password"})
    with psycopg.connect(normalize_url(database_url).replace("+psycopg", "")) as conn:
        conn.execute("UPDATE app_user SET locked_until = now() - interval '1 second' WHERE username = 'dienthoai'")
    headers = await login(client, "dienthoai")
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200


async def test_missing_and_bad_tokens_are_401(client) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})).status_code == 401
    assert (await client.get("/api/v1/me", headers={"Authorization": "Basic abc"})).status_code == 401


async def test_token_expires(client, database_url) -> None:
    headers = await login(client, "admin")
    with psycopg.connect(normalize_url(database_url).replace("+psycopg", "")) as conn:
        conn.execute("UPDATE auth_session SET expires_at = now() - interval '1 second'")
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401


async def test_logout_revokes_the_token(client) -> None:
    headers = await login(client, "admin")
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_token_reports_its_lifetime(client, settings) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD})
    assert response.json()["expires_in"] == int(timedelta(minutes=settings.token_ttl_minutes).total_seconds())


async def test_change_password(client) -> None:
    headers = await login(client, "cv.tranbien")
    other_session = await login(client, "cv.tranbien")
    # mismatching confirmation -> 422 naming the field
    r = await client.post("/api/v1/me/password", headers=headers, json={
        "current_password": DEMO_PASSWORD, "new_password": "Moi-Mat-Khau-2026", "new_password_confirm": "khac"})
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "new_password_confirm"
    # wrong current password
    r = await client.post("/api/v1/me/password", headers=headers, json={
        "current_password": "sai", "new_password": "Moi-Mat-Khau-2026", "new_password_confirm": "Moi-Mat-Khau-2026"})
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "current_password"
    # weak password
    r = await client.post("/api/v1/me/password", headers=headers, json={
        "current_password": DEMO_PASSWORD, "new_password": "abc", "new_password_confirm": "abc"})
    assert r.status_code == 422 and {d["field"] for d in r.json()["details"]} == {"new_password"}
    # a good change: this session stays, other sessions end, the new password works
    r = await client.post("/api/v1/me/password", headers=headers, json={
        "current_password": DEMO_PASSWORD, "new_password": "Moi-Mat-Khau-2026", "new_password_confirm": "Moi-Mat-Khau-2026"})
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=other_session)).status_code == 401
    await login(client, "cv.tranbien", "Moi-Mat-Khau-2026")


async def test_profile_update_validates_phone(client) -> None:
    headers = await login(client, "cv.tranbien")
    bad = await client.patch("/api/v1/me", headers=headers, json={"phone": "12345"})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "phone"
    good = await client.patch("/api/v1/me", headers=headers, json={"phone": "+84 912 345 678", "full_name": "Bùi Thị Trấn"})
    assert good.status_code == 200 and good.json()["phone"] == "0912345678"


@pytest.mark.parametrize("body", [
    b"{not json", b"[]", b'{"phone": 5}', b'{"unknown_field": 1}', ('{"full_name": "' + "x" * 300 + '"}').encode(),
])
async def test_bad_input_is_422_with_field(client, body) -> None:
    headers = await login(client, "admin")
    r = await client.patch("/api/v1/me", headers={**headers, "Content-Type": "application/json"}, content=body)
    assert r.status_code == 422
    payload = r.json()
    assert payload["error_id"] == "validation_error" and payload["details"] and payload["message"]


async def test_login_rate_limit_per_address(client) -> None:
    statuses = [(await client.post("/api/v1/auth/token", data={"username": f"u{i}", "password": "x"})).status_code
                for i in range(35)]
    assert statuses[0] == 401 and statuses[-1] == 429


async def test_validation_messages_are_translated_then_filled_in(client) -> None:
    headers = await login(client, "admin")
    r = await client.patch("/api/v1/me", headers=headers, json={"full_name": "x" * 300, "nickname": "y"})
    details = {d["field"]: d["message"] for d in r.json()["details"]}
    assert details["full_name"] == "Quá dài (tối đa 255 ký tự)."
    assert details["nickname"] == "Trường này không được phép." or "nickname" in details
    assert r.json()["message"].startswith("Một số trường không hợp lệ")
