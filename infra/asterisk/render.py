#!/usr/bin/env python3
"""Render pjsip.conf for the 1022 hotline's Asterisk from an inventory of agents and the carrier trunk.

    python infra/asterisk/render.py infra/asterisk/inventory.example.json -o /etc/asterisk/pjsip.conf
    python infra/asterisk/render.py inventory.yaml --check        # validate only

The inventory is JSON, or YAML when the file ends in .yaml/.yml (needs PyYAML). The output depends only on
the inventory (agents sorted by extension, no timestamps), so rendering twice gives the same bytes. A bad
inventory is refused with every problem listed (InventoryError), and nothing is written.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
from pathlib import Path
from typing import Any

import jinja2

HERE = Path(__file__).resolve().parent
TEMPLATE = "pjsip.conf.j2"

# Agents' extensions: 101-199 (three digits, starting with 1, not 100). 1022 is the hotline itself.
EXTENSION_RE = re.compile(r"^1(0[1-9]|[1-9][0-9])$")
# Vietnamese national numbers: 0 then 9 digits (mobile, e.g. 0912345678) or 10 digits (landline since 2017,
# e.g. 02513822xxx for Đồng Nai). +84 / 84 are normalised to 0.
NATIONAL_RE = re.compile(r"^0[1-9][0-9]{8,9}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
SIP_USER_RE = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")
# A password goes verbatim into an Asterisk config line: no ';' (comment), no whitespace, no quotes.
PASSWORD_RE = re.compile(r"^[A-Za-z0-9!#$%&()*+,\-./:<=>?@\[\]^_{|}~]{12,128}$")
# A display name goes into callerid="NAME" <ext>: letters (Vietnamese included), digits, spaces, . - _ ( ) '
NAME_RE = re.compile(r"^[\w .()'-]{1,60}$")
CODECS = ("alaw", "ulaw")  # Vietnam's PSTN is G.711 A-law; ulaw kept for softphones that insist on it.


class InventoryError(ValueError):
    """The inventory cannot be rendered; .problems lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid inventory:\n  - " + "\n  - ".join(problems))


def normalise_number(raw: Any) -> str | None:
    """A Vietnamese number in national form (0xxxxxxxxx), or None when it is not one.

    Spaces, dots and dashes are ignored; +84 and 84 become 0."""
    if not isinstance(raw, str):
        return None
    digits = re.sub(r"[\s.\-()]", "", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits if NATIONAL_RE.match(digits) else None


def _bind(value: Any, default_port: int, where: str, problems: list[str]) -> str:
    """host:port for a transport's bind, host an IP address (0.0.0.0 for all)."""
    if value is None:
        return f"0.0.0.0:{default_port}"
    if not isinstance(value, str) or ":" not in value:
        problems.append(f"{where}: bind must be 'IP:port', got {value!r}")
        return ""
    host, _, port = value.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        problems.append(f"{where}: bind address {host!r} is not an IP address")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        problems.append(f"{where}: bind port {port!r} is not a port number")
    return value


def _networks(values: Any, where: str, problems: list[str]) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        problems.append(f"{where}: must be a list of IP addresses or networks")
        return []
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(str(value), strict=False)))
        except ValueError:
            problems.append(f"{where}: {value!r} is not an IP address or network (e.g. 203.0.113.10/32)")
    return out


def validate(data: Any) -> dict[str, Any]:
    """Check an inventory and return the normalised model the template renders; raise InventoryError."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise InventoryError(["the inventory must be a JSON/YAML object"])
    known = {"transports", "nat", "agents", "trunk", "comment"}
    for key in sorted(set(data) - known):
        problems.append(f"unknown top-level key {key!r} (known: {', '.join(sorted(known))})")

    # Transports -----------------------------------------------------------------------------------------
    transports_in = data.get("transports") or {}
    if not isinstance(transports_in, dict):
        problems.append("transports: must be an object")
        transports_in = {}
    for key in sorted(set(transports_in) - {"udp", "tcp", "tls"}):
        problems.append(f"transports: unknown transport {key!r} (udp, tcp, tls)")
    udp = transports_in.get("udp") or {}
    tcp = transports_in.get("tcp")
    tls = transports_in.get("tls")
    if not isinstance(udp, dict) or (tcp and not isinstance(tcp, dict)):
        problems.append("transports.udp/tcp: must be objects such as {\"bind\": \"0.0.0.0:5060\"}")
        udp, tcp = {}, None
    transports: dict[str, Any] = {"udp": {"bind": _bind(udp.get("bind"), 5060, "transports.udp", problems)},
                                  "tcp": None, "tls": None}
    if tcp:
        transports["tcp"] = {"bind": _bind(tcp.get("bind"), 5060, "transports.tcp", problems)}
    if tls:
        if not isinstance(tls, dict):
            problems.append("transports.tls: must be an object with cert_file and priv_key_file")
        else:
            t = {"bind": _bind(tls.get("bind"), 5061, "transports.tls", problems)}
            for key in ("cert_file", "priv_key_file"):
                value = tls.get(key)
                if not isinstance(value, str) or not value.startswith("/") or re.search(r"[\s;]", value):
                    problems.append(f"transports.tls.{key}: an absolute path without spaces is required")
                t[key] = value
            ca = tls.get("ca_list_file")
            if ca is not None and (not isinstance(ca, str) or not ca.startswith("/")):
                problems.append("transports.tls.ca_list_file: must be an absolute path")
            t["ca_list_file"] = ca
            transports["tls"] = t

    # NAT (optional: Asterisk behind a NAT, with agents or the carrier outside) ------------------------
    nat_in = data.get("nat") or {}
    nat: dict[str, Any] = {"local_net": _networks(nat_in.get("local_net"), "nat.local_net", problems),
                           "external_address": None}
    ext = nat_in.get("external_address")
    if ext is not None:
        try:
            nat["external_address"] = str(ipaddress.ip_address(ext))
        except ValueError:
            problems.append(f"nat.external_address: {ext!r} is not an IP address")

    # Agents --------------------------------------------------------------------------------------------
    agents_in = data.get("agents")
    agents: list[dict[str, Any]] = []
    if not isinstance(agents_in, list) or not agents_in:
        problems.append("agents: a non-empty list of {extension, name, password} is required")
        agents_in = []
    seen: dict[str, int] = {}
    for index, agent in enumerate(agents_in, start=1):
        where = f"agents[{index}]"
        if not isinstance(agent, dict):
            problems.append(f"{where}: must be an object")
            continue
        for key in sorted(set(agent) - {"extension", "name", "password", "transport"}):
            problems.append(f"{where}: unknown key {key!r}")
        ext = agent.get("extension")
        ext = str(ext) if isinstance(ext, (str, int)) and not isinstance(ext, bool) else None
        if ext is None or not EXTENSION_RE.match(ext):
            problems.append(f"{where}: invalid extension {agent.get('extension')!r} (agents use 101-199)")
            continue
        where = f"{where} (extension {ext})"
        if ext in seen:
            problems.append(f"duplicate extension {ext}: agents[{seen[ext]}] and agents[{index}]")
            continue
        seen[ext] = index
        name = agent.get("name") or f"Agent {ext}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append(f"{where}: name {name!r} may hold letters, digits, spaces and . - _ ( ) ' only")
        password = agent.get("password")
        if not isinstance(password, str) or not PASSWORD_RE.match(password):
            problems.append(f"{where}: password must be 12-128 characters without spaces, quotes or ';'")
        transport = agent.get("transport", "udp")
        if not transports.get(transport):
            problems.append(f"{where}: transport {transport!r} is not configured in transports")
        agents.append({"extension": ext, "name": name, "password": password, "transport": transport})
    agents.sort(key=lambda a: a["extension"])

    # Trunk ---------------------------------------------------------------------------------------------
    trunk_in = data.get("trunk")
    trunk: dict[str, Any] = {}
    if not isinstance(trunk_in, dict):
        problems.append("trunk: the carrier's SIP trunk is required (host, did, match, ...)")
    else:
        allowed = {"host", "port", "domain", "username", "password", "did", "match", "register", "transport",
                   "qualify"}
        for key in sorted(set(trunk_in) - allowed):
            problems.append(f"trunk: unknown key {key!r}")
        host = trunk_in.get("host")
        if not isinstance(host, str) or not (HOST_RE.match(host) or _is_ip(host)):
            problems.append(f"trunk.host: {host!r} is not a host name or IP address")
        port = trunk_in.get("port", 5060)
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            problems.append(f"trunk.port: {port!r} is not a port number")
        domain = trunk_in.get("domain") or host
        if not isinstance(domain, str) or not (HOST_RE.match(domain) or _is_ip(domain)):
            problems.append(f"trunk.domain: {domain!r} is not a host name or IP address")
        did = normalise_number(trunk_in.get("did"))
        if did is None:
            problems.append(f"trunk.did: invalid number {trunk_in.get('did')!r} "
                            "(a Vietnamese number: 0 and 9-10 digits, or +84...)")
        register = trunk_in.get("register", True)
        if not isinstance(register, bool):
            problems.append("trunk.register: must be true or false")
        username = trunk_in.get("username")
        password = trunk_in.get("password")
        if username is not None and (not isinstance(username, str) or not SIP_USER_RE.match(username)):
            problems.append(f"trunk.username: {username!r} is not a valid SIP user name")
        if password is not None and (not isinstance(password, str) or not PASSWORD_RE.match(password)):
            problems.append("trunk.password: must be 12-128 characters without spaces, quotes or ';'")
        if (username is None) != (password is None):
            problems.append("trunk: username and password go together (both, or neither for an IP-only trunk)")
        if register is True and username is None:
            problems.append("trunk: register is true but there is no username/password")
        match = _networks(trunk_in.get("match"), "trunk.match", problems)
        if not match:
            problems.append("trunk.match: list the carrier's signalling IP addresses (identify by IP)")
        transport = trunk_in.get("transport", "udp")
        if not isinstance(transport, str) or not transports.get(transport):
            problems.append(f"trunk.transport: {transport!r} is not configured in transports")
        qualify = trunk_in.get("qualify", 60)
        if not isinstance(qualify, int) or isinstance(qualify, bool) or qualify < 0:
            problems.append("trunk.qualify: seconds between OPTIONS pings (0 = off)")
        trunk = {"host": host, "port": port, "domain": domain, "did": did, "register": register,
                 "username": username, "password": password, "match": match, "transport": transport,
                 "qualify": qualify}

    if problems:
        raise InventoryError(problems)
    return {"transports": transports, "nat": nat, "agents": agents, "trunk": trunk, "codecs": CODECS}


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def load_inventory(path: Path) -> Any:
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError as exc:  # pragma: no cover - PyYAML is normally installed
            raise SystemExit("a YAML inventory needs PyYAML (pip install pyyaml), or use JSON") from exc
        return yaml.safe_load(text)
    return json.loads(text)


def render(inventory: Any, source: str = "inventory") -> str:
    """pjsip.conf text for a (raw) inventory; raises InventoryError when it is invalid."""
    model = validate(inventory)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE)), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             autoescape=False)
    return env.get_template(TEMPLATE).render(source=source, **model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render pjsip.conf from an inventory of agents and the trunk.")
    parser.add_argument("inventory", type=Path, help="inventory file (.json, .yaml or .yml)")
    parser.add_argument("-o", "--output", type=Path, help="where to write pjsip.conf (default: stdout)")
    parser.add_argument("--check", action="store_true", help="only validate the inventory")
    args = parser.parse_args(argv)
    try:
        text = render(load_inventory(args.inventory), source=args.inventory.name)
    except InventoryError as exc:
        print(f"{args.inventory}: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"{args.inventory}: cannot read the inventory: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.inventory}: OK")
    elif args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
