"""infra/asterisk: the Asterisk 22 configuration the hotline's Stasis application expects.

Every .conf file (and pjsip.conf rendered from inventory.example.json) is parsed by a strict parser of
Asterisk's config syntax written here: asterisklint's generic config parser rejects template
inheritance such as ``[101](agent-endpoint)``, so it is used only where it is strong, on the dialplan
(``asterisklint dialplan-check --asterisk-version 22``: application names and arguments, Goto targets).
"""
from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASTERISK_DIR = ROOT / "infra" / "asterisk"
EXAMPLE = ASTERISK_DIR / "inventory.example.json"


def _load_render():
    spec = importlib.util.spec_from_file_location("asterisk_render", ASTERISK_DIR / "render.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


render_mod = _load_render()


# --------------------------------------------------------------------------------------- strict parser
class ConfigSyntaxError(ValueError):
    pass


@dataclass
class Section:
    name: str
    options: list[str]  # "!" (template), "+" (append) and the names of the templates it inherits
    line: int
    items: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_template(self) -> bool:
        return "!" in self.options

    def values(self, key: str) -> list[str]:
        return [v for k, v in self.items if k == key]

    def get(self, key: str) -> str | None:
        found = self.values(key)
        return found[-1] if found else None


SECTION_RE = re.compile(r"^\[([^\[\]\s;]+)\](?:\(([^()]*)\))?$")
ITEM_RE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*|\*?[A-Za-z0-9_]+)\s*(=>|=)\s*(.*)$")
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def _strip_comment(line: str) -> str:
    out, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if ch == ";":
            break
        out.append(ch)
        i += 1
    return "".join(out).rstrip()


def parse_conf(text: str, filename: str = "<conf>") -> list[Section]:
    """Parse Asterisk's config format strictly; raise ConfigSyntaxError at the first bad line.

    Accepted: ';' comments (and '\\;'), '[section]', '[section](!)', '[section](tpl1,tpl2)',
    '[section](!,tpl)', '[section](+)', 'key = value' and 'key => value' (leading spaces allowed, as
    for ' same => n,...'). Refused: anything else, text before the first section, a template that
    is not defined above, block comments, #include/#exec (not used here), control characters, CR."""
    sections: list[Section] = []
    names: set[str] = set()
    current: Section | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        where = f"{filename}:{number}"
        if "\r" in raw or re.search(r"[\x00-\x08\x0b-\x1f\x7f]", raw):
            raise ConfigSyntaxError(f"{where}: control character")
        # Asterisk opens a block comment at ';--' unless a third '-' follows (';-----' rulers are fine).
        if re.search(r"(?<!\\);--(?!-)", raw):
            raise ConfigSyntaxError(f"{where}: block comment ';--' (not used in these files)")
        line = _strip_comment(raw).strip()
        if not line:
            continue
        if line.startswith("#"):
            raise ConfigSyntaxError(f"{where}: preprocessor directive {line.split()[0]!r} not allowed")
        if line.startswith("["):
            match = SECTION_RE.match(line)
            if not match:
                raise ConfigSyntaxError(f"{where}: malformed section header {line!r}")
            options = [o.strip() for o in match.group(2).split(",")] if match.group(2) is not None else []
            for option in options:
                if option in ("!", "+"):
                    continue
                if not NAME_RE.match(option):
                    raise ConfigSyntaxError(f"{where}: bad template name {option!r}")
                if option not in names:
                    raise ConfigSyntaxError(f"{where}: template {option!r} is not defined above")
            current = Section(match.group(1), options, number)
            sections.append(current)
            names.add(current.name)
            continue
        match = ITEM_RE.match(line)
        if not match:
            raise ConfigSyntaxError(f"{where}: expected 'key = value', 'key => value' or '[section]', got {line!r}")
        if current is None:
            raise ConfigSyntaxError(f"{where}: {match.group(1)!r} outside any section")
        key, value = match.group(1), match.group(3).strip()
        if value.count("(") != value.count(")") or value.count("[") != value.count("]") \
                or value.count("{") != value.count("}") or value.count('"') % 2:
            raise ConfigSyntaxError(f"{where}: unbalanced brackets or quotes in {value!r}")
        current.items.append((key, value))
    return sections


def effective(sections: list[Section], section: Section) -> dict[str, list[str]]:
    """A section's options with those of its templates (depth first, own values last)."""
    by_name: dict[str, Section] = {}
    merged: dict[str, list[str]] = {}
    for s in sections:
        if s is section:
            break
        by_name[s.name] = s  # the latest definition above is the one Asterisk inherits from
    for option in section.options:
        if option not in ("!", "+"):
            for key, values in effective(sections, by_name[option]).items():
                merged.setdefault(key, []).extend(values)
    for key, value in section.items:
        merged.setdefault(key, []).append(value)
    return merged


def one(options: dict[str, list[str]], key: str) -> str | None:
    values = options.get(key)
    return values[-1] if values else None


# --------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def example_inventory() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rendered(example_inventory) -> str:
    return render_mod.render(example_inventory, source=EXAMPLE.name)


@pytest.fixture(scope="module")
def pjsip(rendered) -> list[Section]:
    return parse_conf(rendered, "pjsip.conf")


def conf(name: str) -> list[Section]:
    return parse_conf((ASTERISK_DIR / name).read_text(encoding="utf-8"), name)


def section(sections: list[Section], name: str, type_: str | None = None) -> Section:
    found = [s for s in sections if s.name == name and (type_ is None or s.get("type") == type_
                                                           or one(effective(sections, s), "type") == type_)]
    assert len(found) == 1, f"expected one [{name}] (type {type_}), found {len(found)}"
    return found[0]


# --------------------------------------------------------------------------------------- (a) syntax
CONF_FILES = sorted(p.name for p in ASTERISK_DIR.glob("*.conf"))


def test_the_expected_files_are_there():
    for name in ("http.conf", "ari.conf", "extensions.conf", "modules.conf", "musiconhold.conf", "logger.conf",
                 "indications.conf",
                 "rtp.conf", "asterisk.conf", "pjsip.conf.j2", "render.py", "inventory.example.json", "README.md"):
        assert (ASTERISK_DIR / name).is_file(), name
    # The ACD lives in the Stasis application: no app_queue configuration is shipped.
    assert not (ASTERISK_DIR / "queues.conf").exists()
    # pjsip.conf is only ever rendered, never committed next to its template.
    assert not (ASTERISK_DIR / "pjsip.conf").exists()


@pytest.mark.parametrize("name", CONF_FILES)
def test_conf_file_parses_strictly(name):
    sections = conf(name)
    assert sections, f"{name} has no section"
    if name != "pjsip.conf":  # outside pjsip.conf a repeated section merges silently: a mistake here
        names = [s.name for s in sections]
        assert len(names) == len(set(names)), f"{name}: repeated section"


def test_rendered_pjsip_parses_and_every_object_is_typed(pjsip):
    seen: set[tuple[str, str]] = set()
    for s in pjsip:
        if s.is_template:
            continue
        type_ = one(effective(pjsip, s), "type")
        assert type_ in {"global", "transport", "endpoint", "auth", "aor", "identify", "registration"}, s.name
        assert (s.name, type_) not in seen, f"[{s.name}] of type {type_} defined twice"
        seen.add((s.name, type_))
    names = {(n, t) for n, t in seen}
    for s in pjsip:
        opts = effective(pjsip, s)
        if s.is_template or one(opts, "type") != "endpoint":
            continue
        for aor in one(opts, "aors").split(","):
            assert (aor, "aor") in names, f"endpoint {s.name}: aor {aor} missing"
        for key in ("auth", "outbound_auth"):
            if one(opts, key):
                assert (one(opts, key), "auth") in names, f"endpoint {s.name}: {key} missing"
        assert ("transport-" + one(opts, "transport").removeprefix("transport-"), "transport") in names


@pytest.mark.parametrize("bad", [
    "key = value\n[general]\n",                        # before any section
    "[general]\njust some words\n",                    # neither key=value nor section
    "[general\nx=1\n",                                 # unterminated header
    "[a](missing-template)\nx=1\n",                    # template not defined above
    "[general]\n#exec /bin/true\n",                    # preprocessor
    "[ctx]\nexten => 1,1,Dial(PJSIP/101\n",            # unbalanced
    "[general]\r\nx=1\r\n",                            # CRLF
    "[general]\n;-- starts a block comment\nx=1\n",      # would hide the lines below in Asterisk
])
def test_the_parser_is_strict(bad):
    with pytest.raises(ConfigSyntaxError):
        parse_conf(bad)


def test_the_parser_accepts_asterisk_constructs():
    sections = parse_conf("[tpl](!)\ntype=endpoint ; note\n[101](tpl)\nallow = alaw\n"
                          "[ctx]\nexten => 1022,1,NoOp(a\\;b)\n same => n,Stasis(hotline)\n[101](+)\nx=1\n")
    assert [s.name for s in sections] == ["tpl", "101", "ctx", "101"]
    assert effective(sections, sections[1]) == {"type": ["endpoint"], "allow": ["alaw"]}
    assert sections[2].items[0] == ("exten", "1022,1,NoOp(a;b)")


def test_dialplan_passes_asterisklint_for_asterisk_22(tmp_path):
    # Run in a subprocess: asterisklint keeps its findings in module-level state.
    code = "import sys; from asterisklint.main import main; sys.exit(main(sys.argv[1:], {}))"
    result = subprocess.run(
        [sys.executable, "-c", code, "dialplan-check", "--asterisk-version", "22",
         str(ASTERISK_DIR / "extensions.conf")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "ALINT_IGNORE": ""})
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), \
        result.stdout + result.stderr

    # And it does catch a broken dialplan (so a pass above means something).
    broken = tmp_path / "extensions.conf"
    broken.write_text((ASTERISK_DIR / "extensions.conf").read_text(encoding="utf-8")
                      .replace("Stasis(hotline)\n", "Stasiss(hotline)\n"), encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", code, "dialplan-check", "--asterisk-version", "22", str(broken)],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 1 and "E_APP_MISSING" in result.stdout + result.stderr


# --------------------------------------------------------------------------------------- (b) semantics
@dataclass
class Dialplan:
    contexts: dict[str, list[tuple[str, int | str, str, str]]]  # exten, priority, app, data
    includes: dict[str, list[str]]

    @classmethod
    def load(cls) -> Dialplan:
        contexts: dict[str, list] = {}
        includes: dict[str, list[str]] = {}
        for s in conf("extensions.conf"):
            steps = contexts.setdefault(s.name, [])
            includes.setdefault(s.name, [])
            last_exten, last_prio = None, 0
            for key, value in s.items:
                if key == "include":
                    includes[s.name].append(value)
                elif key in ("exten", "same"):
                    if key == "exten":
                        last_exten, prio, rest = value.split(",", 2)
                    else:
                        prio, rest = value.split(",", 1)
                    label = re.match(r"^(\w+)\((\w+)\)$", prio)
                    prio = label.group(1) if label else prio
                    last_prio = last_prio + 1 if prio == "n" else int(prio)
                    app = re.match(r"^(\w+)(?:\((.*)\))?$", rest)
                    assert app, f"[{s.name}] {value!r}"
                    steps.append((last_exten, last_prio, app.group(1), app.group(2) or ""))
        return cls(contexts, includes)

    def extensions(self, context: str) -> set[str]:
        return {e for e, *_ in self.contexts[context]}

    def steps(self, context: str, exten: str) -> list[tuple[str, str]]:
        return [(app, data) for e, _, app, data in self.contexts[context] if e == exten]

    def match(self, context: str, number: str) -> tuple[str, str] | None:
        """(context, extension) that a dialled number reaches: exact first, then patterns, then includes."""
        extens = self.extensions(context)
        if number in extens:
            return context, number
        patterns = [e for e in extens if e.startswith("_") and pattern_matches(e, number)]
        if patterns:
            # Asterisk prefers the most specific pattern; here, the longest without a wildcard tail.
            return context, sorted(patterns, key=lambda p: (p.endswith(".") or p.endswith("!"), -len(p)))[0]
        for inc in self.includes[context]:
            found = self.match(inc, number)
            if found:
                return found
        return None


def pattern_matches(pattern: str, number: str) -> bool:
    regex = ""
    body = pattern[1:]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "X":
            regex += "[0-9]"
        elif ch == "Z":
            regex += "[1-9]"
        elif ch == "N":
            regex += "[2-9]"
        elif ch == ".":
            regex += ".+"
        elif ch == "!":
            regex += ".*"
        elif ch == "[":
            end = body.index("]", i)
            regex += "[" + body[i + 1:end] + "]"
            i = end
        else:
            regex += re.escape(ch)
        i += 1
    return re.fullmatch(regex, number) is not None


def test_1022_enters_stasis_hotline_without_being_answered_first():
    dp = Dialplan.load()
    steps = dp.steps("hotline-entry", "1022")
    apps = [app for app, _ in steps]
    assert ("Stasis", "hotline") in steps
    assert "Answer" not in apps[:apps.index("Stasis")], "the application decides whether to answer"


def test_carrier_calls_reach_stasis_hotline(pjsip, example_inventory):
    dp = Dialplan.load()
    trunk = effective(pjsip, section(pjsip, "trunk", "endpoint"))
    context = one(trunk, "context")
    did = render_mod.normalise_number(example_inventory["trunk"]["did"])
    for dialled in (did, "+84" + did[1:], "84" + did[1:], "1022", "s"):
        ctx, exten = dp.match(context, dialled)
        if (ctx, exten) != ("hotline-entry", "1022"):
            (app, data), *_ = dp.steps(ctx, exten)
            assert (app, data) == ("Goto", "hotline-entry,1022,1"), dialled
    assert ("Stasis", "hotline") in dp.steps("hotline-entry", "1022")


def test_agents_context_internal_calls_and_test_call():
    dp = Dialplan.load()
    assert dp.match("agents", "1022") == ("hotline-entry", "1022")
    ctx, exten = dp.match("agents", "102")
    assert ("Dial", "PJSIP/${EXTEN},30") in dp.steps(ctx, exten)
    for ctx in ("agents", "outbound", "hotline-entry"):
        assert "h" in dp.extensions(ctx), ctx
    assert "i" in dp.extensions("outbound")


@pytest.mark.parametrize("dialled, national", [
    ("0912345678", "0912345678"), ("+84912345678", "0912345678"), ("84912345678", "0912345678"),
    ("02513822123", "02513822123"), ("+842513822123", "02513822123"),
])
def test_outbound_normalises_vietnamese_numbers_and_dials_the_trunk(dialled, national):
    dp = Dialplan.load()
    number = dialled
    for _ in range(3):  # follow the Goto of the +84/84 patterns
        ctx, exten = dp.match("outbound", number)
        app, data = dp.steps(ctx, exten)[0]
        if app != "Goto" or data == "dial,1":
            break
        target = data.rsplit(",", 1)[0]
        number = re.sub(r"\$\{EXTEN:(\d+)\}", lambda m: number[int(m.group(1)):], target)
    assert number == national
    assert dp.steps("outbound", exten)[0] == ("Set", "OUTNUM=${EXTEN}")
    assert ("Dial", "PJSIP/${OUTNUM}@trunk,${OUTBOUND_RING_TIMEOUT}") in dp.steps("outbound", "dial")


@pytest.mark.parametrize("dialled", ["113", "0012025550123", "+12025550123", "091234567", "1022"])
def test_outbound_refuses_other_numbers(dialled):
    assert Dialplan.load().match("outbound", dialled) is None  # -> the i extension, Hangup(1)


def test_ari_user_and_http_server():
    ari = conf("ari.conf")
    assert section(ari, "general").get("enabled") == "yes"
    user = section(ari, "hotline")
    assert user.get("type") == "user" and user.get("read_only") == "no"
    assert user.get("password_format") in ("plain", "crypt") and user.get("password")
    assert "*" not in (section(ari, "general").get("allowed_origins") or "")
    http = section(conf("http.conf"), "general")
    assert (http.get("enabled"), http.get("bindaddr"), http.get("bindport")) == ("yes", "127.0.0.1", "8088")


def test_required_modules_and_no_app_queue():
    modules = section(conf("modules.conf"), "modules")
    required = set(modules.values("require"))
    for name in ("res_ari.so", "res_stasis.so", "app_stasis.so", "res_pjsip.so", "chan_pjsip.so",
                 "res_http_websocket.so", "res_ari_recordings.so", "res_stasis_recording.so"):
        assert name in required, name
    assert "app_queue.so" in modules.values("noload")


def test_music_on_hold_and_rtp_range_documented():
    moh = section(conf("musiconhold.conf"), "default")
    assert moh.get("mode") == "files" and moh.get("directory")
    rtp = section(conf("rtp.conf"), "general")
    start, end = int(rtp.get("rtpstart")), int(rtp.get("rtpend"))
    assert 1024 < start < end
    readme = (ASTERISK_DIR / "README.md").read_text(encoding="utf-8")
    assert f"{start}-{end}" in readme or f"{start}–{end}" in readme, "README's firewall ports disagree with rtp.conf"


def test_agent_endpoints(pjsip, example_inventory):
    endpoints = {}
    for s in pjsip:
        opts = effective(pjsip, s)
        if not s.is_template and one(opts, "type") == "endpoint" and s.name != "trunk":
            endpoints[s.name] = opts
    assert sorted(endpoints) == sorted(a["extension"] for a in example_inventory["agents"])
    for name, opts in endpoints.items():
        assert one(opts, "send_connected_line") == "no", name
        assert one(opts, "direct_media") == "no", name
        assert one(opts, "context") == "agents", name
        for key in ("rtp_symmetric", "force_rport", "rewrite_contact"):
            assert one(opts, key) == "yes", (name, key)
        assert one(opts, "disallow") == "all" and one(opts, "allow") == "alaw,ulaw", name
        aor = effective(pjsip, section(pjsip, name, "aor"))
        assert int(one(aor, "qualify_frequency")) > 0
        auth = effective(pjsip, section(pjsip, f"{name}-auth", "auth"))
        assert one(auth, "username") == name and one(auth, "password")


def test_trunk_registers_and_is_identified_by_ip(pjsip, example_inventory):
    trunk = example_inventory["trunk"]
    reg = section(pjsip, "trunk-reg", "registration")
    assert reg.get("outbound_auth") == "trunk-auth" and reg.get("server_uri") == f"sip:{trunk['host']}:{trunk['port']}"
    identify = section(pjsip, "trunk-identify", "identify")
    assert identify.get("endpoint") == "trunk"
    assert identify.values("match") == ["203.0.113.10/32", "203.0.113.11/32"]
    endpoint = section(pjsip, "trunk", "endpoint")
    assert endpoint.get("from_user") == "02513999999" and endpoint.get("send_connected_line") == "no"


def test_render_is_deterministic(example_inventory, rendered, tmp_path):
    assert render_mod.render(example_inventory, source=EXAMPLE.name) == rendered
    shuffled = json.loads(json.dumps(example_inventory))
    random.Random(7).shuffle(shuffled["agents"])
    shuffled["agents"].reverse()
    assert render_mod.render(shuffled, source=EXAMPLE.name) == rendered
    out = tmp_path / "pjsip.conf"
    assert render_mod.main([str(EXAMPLE), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == rendered


def _with(inventory: dict, path: str, value) -> dict:
    data = json.loads(json.dumps(inventory))
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return data


@pytest.mark.parametrize("path, value, message", [
    ("agents.1.extension", "101", "duplicate extension 101: agents[1] and agents[2]"),
    ("agents.1.extension", "1022", "invalid extension '1022'"),
    ("agents.1.extension", "10a", "invalid extension '10a'"),
    ("trunk.did", "12345", "trunk.did: invalid number '12345'"),
    ("trunk.did", "+1 202 555 0123", "trunk.did: invalid number"),
    ("trunk.match", ["not-an-ip"], "trunk.match: 'not-an-ip' is not an IP address"),
    ("agents.0.password", "short", "password must be 12-128 characters"),
    ("agents.0.password", "has;semicolon-in-it", "password must be 12-128 characters"),
    ("agents.0.name", 'Evil"; injected', "name"),
])
def test_render_refuses_a_bad_inventory(example_inventory, path, value, message):
    with pytest.raises(render_mod.InventoryError) as caught:
        render_mod.render(_with(example_inventory, path, value))
    assert message in str(caught.value)


def test_cli_refuses_a_bad_inventory_and_writes_nothing(example_inventory, tmp_path, capsys):
    bad = tmp_path / "inventory.json"
    bad.write_text(json.dumps(_with(example_inventory, "agents.2.extension", "102")), encoding="utf-8")
    out = tmp_path / "pjsip.conf"
    assert render_mod.main([str(bad), "-o", str(out)]) == 2
    assert "duplicate extension 102" in capsys.readouterr().err
    assert not out.exists()


def test_yaml_inventory_renders_the_same(example_inventory, rendered, tmp_path):
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "inventory.example.yaml"
    path.write_text(yaml.safe_dump(example_inventory, allow_unicode=True), encoding="utf-8")
    data = render_mod.load_inventory(path)
    assert render_mod.render(data, source=EXAMPLE.name) == rendered


def test_normalise_number():
    assert render_mod.normalise_number("+84 912 345 678") == "0912345678"
    assert render_mod.normalise_number("84912345678") == "0912345678"
    assert render_mod.normalise_number("0251.3822.123") == "02513822123"
    assert render_mod.normalise_number("1022") is None
    assert render_mod.normalise_number(912345678) is None
