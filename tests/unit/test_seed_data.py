"""Seed reference data: administrative units and the default catalogue of ticket fields."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from core.seed import areas
from core.seed.areas import AreaSeed, area_seeds, province_choices
from core.seed.fields_catalog import DEFAULT_FIELDS, iter_fields

CODE_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
ICON_RE = re.compile(r"^[a-z0-9\-]*$")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_TICKETS_CANDIDATES = (
    REPO_ROOT / "shared" / "data" / "demo" / "tickets.vi.json",
    Path("/work/shared/data/demo/tickets.vi.json"),
)
# The "field" values of the demo tickets, kept here so the check also runs without the file.
KNOWN_DEMO_FIELDS = {
    "An ninh trật tự",
    "An sinh xã hội",
    "Cây xanh",
    "Cấp thoát nước",
    "Giao thông",
    "Giáo dục",
    "Hạ tầng đô thị",
    "Lao động việc làm",
    "Môi trường",
    "Phòng chống thiên tai",
    "Thủ tục hành chính",
    "Trật tự đô thị",
    "Xây dựng",
    "Y tế",
    "Điện",
    "Điện chiếu sáng",
    "Đất đai",
}


def _demo_ticket_fields() -> set[str]:
    env = os.environ.get("HOTLINE_DEMO_TICKETS")
    for path in ((Path(env),) if env else ()) + DEMO_TICKETS_CANDIDATES:
        if path.is_file():
            return {ticket["field"] for ticket in json.loads(path.read_text(encoding="utf-8"))}
    return set()


def _assert_parents_first(seeds: list[AreaSeed]) -> None:
    seen: set[str] = set()
    for seed in seeds:
        assert seed.parent_code is None or seed.parent_code in seen, seed
        seen.add(seed.code)


# --- areas -------------------------------------------------------------------------------


def test_2025_dong_nai_has_one_province_and_95_communes() -> None:
    # given the 2025 two-level scheme and Đồng Nai (code 75)
    # when its areas are extracted
    seeds = area_seeds("2025", "75")
    # then there is one province followed by 95 communes: 23 wards and 72 communes
    province, communes = seeds[0], seeds[1:]
    assert province == AreaSeed("75", "Tỉnh Đồng Nai", "Tỉnh", "province", None)
    assert len(communes) == 95
    assert {s.level for s in communes} == {"commune"}
    assert Counter(s.kind for s in communes) == {"Phường": 23, "Xã": 72}
    assert all(s.parent_code == "75" for s in communes)
    assert len({s.code for s in seeds}) == len(seeds)
    assert all(s.code.isdigit() and len(s.code) == 5 for s in communes)


def test_2025_dong_nai_contains_the_known_wards() -> None:
    # given the 2025 Đồng Nai areas
    names = {s.name for s in area_seeds()}
    # then the wards of the former Biên Hòa city are present under their new names
    assert {"Phường Trấn Biên", "Phường Biên Hòa", "Phường Long Bình", "Phường Tam Hiệp"} <= names


def test_legacy_dong_nai_has_three_levels_parents_first() -> None:
    # given the pre-2025 three-level scheme and Đồng Nai (also code 75 there)
    # when its areas are extracted
    seeds = area_seeds("legacy", "75")
    # then districts sit between the province and the communes, parents before children
    levels = [s.level for s in seeds]
    assert levels[0] == "province" and seeds[0].name == "Tỉnh Đồng Nai"
    assert levels == sorted(levels, key=["province", "district", "commune"].index)
    districts = {s.code: s for s in seeds if s.level == "district"}
    assert len(districts) == 11
    assert {"Thành phố Biên Hòa", "Huyện Long Thành"} <= {d.name for d in districts.values()}
    assert all(d.parent_code == "75" for d in districts.values())
    assert all(s.parent_code in districts for s in seeds if s.level == "commune")
    assert {s.kind for s in seeds if s.level == "commune"} == {"Phường", "Xã", "Thị trấn"}
    assert len({s.code for s in seeds}) == len(seeds)
    _assert_parents_first(seeds)


def test_every_province_of_both_schemes_is_well_formed() -> None:
    # given all provinces of both schemes
    for scheme, expected in (("2025", 34), ("legacy", 63)):
        provinces = province_choices(scheme)
        # then the province counts match the reform, and each province's tree is consistent
        assert len(provinces) == expected
        for code, name in provinces:
            seeds = area_seeds(scheme, code)
            assert seeds[0].code == code and seeds[0].name == name
            assert seeds[0].kind in {"Tỉnh", "Thành phố"}
            assert all(s.kind and s.name.startswith(s.kind + " ") for s in seeds)
            assert len({s.code for s in seeds}) == len(seeds)
            _assert_parents_first(seeds)


@pytest.mark.parametrize(("scheme", "province_code"), [("2025", "99"), ("legacy", "00"), ("2025", ""), ("1990", "75")])
def test_unknown_scheme_or_province_raises_value_error(scheme: str, province_code: str) -> None:
    # given an unknown scheme or province code
    # when areas are requested, then a ValueError explains the problem
    with pytest.raises(ValueError, match="unknown"):
        area_seeds(scheme, province_code)


def test_unknown_scheme_in_province_choices_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown area scheme"):
        province_choices("1990")


def test_area_seeds_returns_independent_lists() -> None:
    # given a caller that mutates the returned list
    first = area_seeds()
    first.clear()
    # then the cached data is unaffected
    assert len(area_seeds()) == 96


def test_area_extraction_makes_no_network_access(monkeypatch: pytest.MonkeyPatch) -> None:
    # given sockets that refuse to connect and cold caches
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    areas._area_seeds.cache_clear()
    areas._province_choices.cache_clear()
    # when areas of both schemes are extracted, then it works offline
    assert len(area_seeds("2025", "75")) == 96
    assert area_seeds("legacy", "75")[0].code == "75"


def test_area_extraction_does_not_import_the_geocoding_converter() -> None:
    # given a fresh interpreter
    code = (
        "import sys; from core.seed.areas import area_seeds; area_seeds(); area_seeds('legacy');"
        "print(any(m.startswith('vietnamadminunits') for m in sys.modules))"
    )
    # when areas are extracted, then the package (and its online geocoder hook) is never imported
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.stdout.strip() == "False"


# --- ticket fields -----------------------------------------------------------------------


def test_field_codes_are_unique_and_valid() -> None:
    codes = [field.code for field, _ in iter_fields()]
    assert len(codes) == len(set(codes))
    assert all(CODE_RE.match(code) and len(code) <= 50 for code in codes)


def test_field_child_codes_extend_their_parent_code() -> None:
    for field, parent in iter_fields():
        if parent is not None:
            assert field.code.startswith(parent + ".")


def test_field_icons_names_and_slas_are_valid() -> None:
    for field, parent in iter_fields():
        assert field.icon and ICON_RE.match(field.icon), field.code
        assert field.name.strip() and field.description.strip(), field.code
        assert field.sla_hours is None or 0 < field.sla_hours <= 8760, field.code
        assert parent is not None or field.sla_hours is not None, f"top-level {field.code} needs an SLA"


def test_top_level_catalogue_covers_the_expected_fields() -> None:
    # given the default catalogue
    top = {f.name: f for f in DEFAULT_FIELDS}
    # then the main fields of a provincial hotline exist, each with 2 to 5 children
    expected = {
        "Giao thông",
        "Môi trường",
        "Trật tự đô thị",
        "An ninh trật tự",
        "Đất đai",
        "Xây dựng",
        "Y tế",
        "Giáo dục",
        "Thủ tục hành chính",
        "Hạ tầng đô thị",
        "Lao động việc làm",
        "An sinh xã hội",
        "Nông nghiệp",
        "Phòng chống thiên tai",
        "Khác",
    }
    assert expected <= top.keys()
    assert all(2 <= len(f.children) <= 5 for f in DEFAULT_FIELDS)
    # and disasters have the shortest SLA
    assert top["Phòng chống thiên tai"].sla_hours == min(f.sla_hours or 0 for f in DEFAULT_FIELDS) <= 4


def test_every_demo_ticket_field_is_a_top_level_field() -> None:
    # given the field names used by the demo tickets (file when present, known list otherwise)
    used = KNOWN_DEMO_FIELDS | _demo_ticket_fields()
    # then each names a top-level field of the catalogue
    assert used - {f.name for f in DEFAULT_FIELDS} == set()


def test_iter_fields_yields_parents_before_children() -> None:
    seen: set[str] = set()
    count = 0
    for field, parent in iter_fields():
        assert parent is None or parent in seen
        seen.add(field.code)
        count += 1
    assert count == len(DEFAULT_FIELDS) + sum(len(f.children) for f in DEFAULT_FIELDS)
