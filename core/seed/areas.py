"""Administrative units (khu vực) read from the bundled `vietnamadminunits` dataset.

Pure data extraction, no database of ours: the package ships a SQLite file with two tables,
``admin_units`` (from 1 Jul 2025: province -> commune/ward) and ``admin_units_legacy``
(before 2025: province -> district -> ward). The file is read directly in read-only mode;
the package itself is never imported, so its online geocoder hook cannot run.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SCHEMES = ("2025", "legacy")
_TABLES = {"2025": "admin_units", "legacy": "admin_units_legacy"}
# Longest first so that "Thành phố" wins over shorter prefixes.
_KINDS = ("Thành phố", "Thị trấn", "Thị xã", "Đặc khu", "Phường", "Huyện", "Quận", "Tỉnh", "Xã")


@dataclass(frozen=True)
class AreaSeed:
    code: str  # national administrative code (GSO), zero-padded: province "75", commune "26734"
    name: str  # full Vietnamese name with its kind, e.g. "Phường Trấn Biên"
    kind: str  # "Tỉnh", "Thành phố", "Phường", "Xã", "Thị trấn", "Đặc khu", "Huyện", "Quận", "Thị xã"
    level: str  # "province" | "district" | "commune"
    parent_code: str | None


@lru_cache(maxsize=1)
def dataset_path() -> Path:
    """Locate the package's bundled SQLite file without importing the package."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'vietnamadminunits' package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "dataset.db"
    if not path.is_file():
        raise RuntimeError(f"vietnamadminunits dataset not found at {path}")
    return path


def _query(sql: str, params: tuple[str, ...] = ()) -> list[tuple]:
    conn = sqlite3.connect(f"{dataset_path().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _table(scheme: str) -> str:
    try:
        return _TABLES[scheme]
    except KeyError:
        raise ValueError(f"unknown area scheme {scheme!r}; expected one of {', '.join(SCHEMES)}") from None


def _split_kind(name: str, fallback: str | None) -> tuple[str, str]:
    """Return (name, kind) with the kind read from the name's prefix, capitalised consistently.

    The name is trusted over the dataset's type columns: a few rows carry a swapped type
    (e.g. "Phường Việt Hòa" typed "Xã") or a capitalised prefix ("Thị Xã Buôn Hồ").
    """
    lowered = name.casefold()
    for kind in _KINDS:
        if lowered.startswith(kind.casefold() + " "):
            return kind + name[len(kind) :], kind
    if fallback:
        return name, fallback
    raise ValueError(f"cannot tell the kind of administrative unit {name!r}")


@lru_cache(maxsize=4)
def _province_choices(scheme: str) -> tuple[tuple[str, str], ...]:
    rows = _query(f"SELECT DISTINCT provinceCode, province FROM {_table(scheme)} ORDER BY provinceCode")
    return tuple((code, _split_kind(name, None)[0]) for code, name in rows)


def province_choices(scheme: str = "2025") -> list[tuple[str, str]]:
    """All provinces of a scheme as (code, name), ordered by code."""
    return list(_province_choices(scheme))


@lru_cache(maxsize=16)
def _area_seeds(scheme: str, province_code: str) -> tuple[AreaSeed, ...]:
    provinces = dict(_province_choices(scheme))
    if province_code not in provinces:
        raise ValueError(f"unknown province code {province_code!r} in area scheme {scheme!r}")
    seeds = [AreaSeed(province_code, *_split_kind(provinces[province_code], None), "province", None)]
    if scheme == "2025":
        rows = _query(
            "SELECT wardCode, ward, wardType FROM admin_units WHERE provinceCode = ? ORDER BY wardCode",
            (province_code,),
        )
        seeds += [AreaSeed(code, *_split_kind(ward, kind), "commune", province_code) for code, ward, kind in rows]
        return tuple(seeds)
    districts = _query(
        "SELECT DISTINCT districtCode, district, districtType FROM admin_units_legacy"
        " WHERE provinceCode = ? ORDER BY districtCode",
        (province_code,),
    )
    seeds += [
        AreaSeed(code, *_split_kind(district, kind), "district", province_code) for code, district, kind in districts
    ]
    # A few island districts (e.g. Côn Đảo, Bạch Long Vĩ) have no wards: their row has NULL ward columns.
    wards = _query(
        "SELECT wardCode, ward, wardType, districtCode FROM admin_units_legacy"
        " WHERE provinceCode = ? AND wardCode IS NOT NULL ORDER BY districtCode, wardCode",
        (province_code,),
    )
    seeds += [
        AreaSeed(code, *_split_kind(ward, kind), "commune", district_code) for code, ward, kind, district_code in wards
    ]
    return tuple(seeds)


def area_seeds(scheme: str = "2025", province_code: str = "75") -> list[AreaSeed]:
    """Areas of one province, parents before children (province, districts, then communes).

    Scheme "2025" has two levels (province -> communes/wards/special zones); scheme "legacy"
    has three (province -> districts -> communes/wards/townships) as they were before 2025.
    """
    _table(scheme)  # validate the scheme before the province code
    return list(_area_seeds(scheme, province_code))
