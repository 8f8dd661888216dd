"""The docs site (make docs): it builds with no warning (mkdocs --strict), and every Python example on the stage
pages runs, page by page in a fresh namespace and an empty working directory, as a reader would paste them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs" / "stages").glob("*.md"))


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def test_docs_build_strict_with_no_warnings(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "WARNING" not in r.stderr, r.stderr[-4000:]
    assert "unrecognized relative link" not in r.stderr, r.stderr[-4000:]  # mkdocs says it at INFO level only
    site = tmp_path / "site"
    config = (site / "config" / "index.html").read_text()
    assert "trainer.rollouts_per_prompt" in config and "n: samples per prompt, one group" in config  # generated
    assert "vgpo_weights" in (site / "api" / "train" / "index.html").read_text()
    assert "make pipeline" in (site / "index.html").read_text()  # the README's quick start, included


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_stage_page_examples_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{page.name}[python block {i}]", "exec"), namespace)  # noqa: S102  (the page's own code)
