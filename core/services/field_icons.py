"""The icons a ticket field (lĩnh vực) may have: Bootstrap Icons names, drawn from the
sprite `ui/static/vendor/bootstrap-icons/fields.svg` (one <symbol> per name).

The set is the default catalogue's icons plus a few general ones, so every seeded field can be
drawn and an administrator picks from a short, known list (an unknown name would draw nothing).
Adding a name here needs its symbol in the sprite (a unit test checks both agree)."""

from __future__ import annotations

from functools import cache

from core.seed.fields_catalog import iter_fields

GENERAL_ICONS = ("tag", "folder", "info-circle", "telephone", "house", "envelope")


@cache
def icon_examples() -> dict[str, str]:
    """Icon name -> the name of a catalogue field that uses it (a readable label for the
    icon picker), in a stable order: the catalogue's first, then the general ones."""
    examples: dict[str, str] = {}
    for seed, _parent in iter_fields():
        examples.setdefault(seed.icon, seed.name)
    for name in GENERAL_ICONS:
        examples.setdefault(name, "")
    return examples


def is_known_icon(name: str) -> bool:
    return name in icon_examples()
