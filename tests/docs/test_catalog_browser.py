"""The static HTML catalog in a real headless Chromium: every model renders, filters and sorting work."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "models" / "catalog.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)")


def rendered(fragment: str, tmp_path: Path) -> str:
    out = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000", "--dump-dom",
         f"{PAGE.as_uri()}#{fragment}"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr[-500:]
    return out.stdout


def rows(dom: str) -> list[list[str]]:
    body = dom.split('<tbody id="rows">', 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body)]


def test_every_model_renders(tmp_path: Path) -> None:
    total = int(re.search(r"(\d+) models from", PAGE.read_text()).group(1))  # type: ignore[union-attr]
    table = rows(rendered("", tmp_path))
    assert len(table) == total > 150
    assert any(r[0] == "gpt-4o" and r[1] == "openai" and r[4] == "$2.50" for r in table)


def test_filters_and_sort_from_the_url(tmp_path: Path) -> None:
    table = rows(rendered("provider=anthropic&capability=chat&sort=id", tmp_path))
    assert table and all(r[1] == "anthropic" and "chat" in r[2] for r in table)
    ids = [r[0] for r in table]
    assert ids == sorted(ids)
    embeddings = rows(rendered("capability=embedding&q=titan", tmp_path))
    assert embeddings and all("embedding" in r[2] and "titan" in r[0] for r in embeddings)
    by_price = rows(rendered("capability=chat&sort=input&dir=desc", tmp_path))
    prices = [float(r[4].lstrip("$").replace(",", "")) for r in by_price if r[4].startswith("$")]
    assert prices == sorted(prices, reverse=True)
