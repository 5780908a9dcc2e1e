"""axe-core (vendored from the npm registry for the tests) run inside a Playwright page: the
serious and critical WCAG 2.1 A/AA violations, so every main screen can assert there are none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor/axe-core/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.1 A/AA violations on the page as it is now.
    `evaluate` runs in the page through the DevTools protocol, outside its CSP."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})
        .then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))""",
                           WCAG_TAGS)
    return list(result)


def assert_accessible(page: Page) -> None:
    """No serious or critical WCAG 2.1 AA violation on the page (the message lists them)."""
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}: {violations}"
