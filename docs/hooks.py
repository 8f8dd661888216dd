"""mkdocs hooks (mkdocs.yml `hooks:`): the generated parts of the docs, so nothing is written twice.

- `<!-- api: mmreason.core -->` becomes one mkdocstrings block (`::: mmreason.core.x`) per public module of the
  package (files and sub-packages not starting with "_"; `__main__` entry points left out).
- `<!-- config-reference -->` becomes `mmreason.pipeline.configdoc.reference_markdown()`: every entry config's and
  every config group's keys with type, default and meaning, read from the dataclasses.
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGES = Path(__file__).resolve().parents[1] / "packages"


def public_modules(package: str) -> list[str]:
    """Dotted names of the public modules under `package` (e.g. mmreason.core), sorted, the package first."""
    stage = package.split(".")[1]
    root = PACKAGES / stage / "mmreason" / stage
    names = [package]
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if any(p.startswith("_") for p in parts[:-1]) or parts[-1].startswith("_") and parts[-1] != "__init__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
            if not parts:
                continue
        names.append(".".join([package, *parts]))
    return names


def _block(name: str) -> str:
    """A module's API; a package only its docstring (its members are documented in their own modules)."""
    stage = name.split(".")[1]
    is_package = (PACKAGES / stage / Path(*name.split("."))).is_dir()
    return f"::: {name}\n    options:\n      members: false" if is_package else f"::: {name}"


def on_page_markdown(markdown: str, page, config, files) -> str:
    def api(m: re.Match) -> str:
        return "\n\n".join(_block(name) for name in public_modules(m.group(1)))

    markdown = re.sub(r"<!-- api: ([\w.]+) -->", api, markdown)
    if "<!-- config-reference -->" in markdown:
        from mmreason.pipeline.configdoc import reference_markdown

        markdown = markdown.replace("<!-- config-reference -->", reference_markdown())
    return markdown
