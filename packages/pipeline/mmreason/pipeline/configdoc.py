"""Every config key with its type, default and meaning, read from the typed configs themselves (the comment beside
each dataclass field is its documentation), so the docs site's configuration page is never written twice.

    python -m mmreason.pipeline.configdoc train            # the keys of conf/train.yaml as a Markdown table
    keys(TrainConfig)                                  # [(dotted key, type, default, meaning)]
    entry_markdown("train")                            # the same table, plus the presets of its config groups
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import io
import tokenize
import typing
from functools import cache
from pathlib import Path

from mmreason.core.config import ENTRY_MODULES, conf_dir

# config group (conf/<group>/) -> the dataclass its files fill, and the entries whose `<group>` node it is
GROUPS = {
    "model": ("mmreason.core.config:ModelConfig", "the policy: tiny (offline) or a local checkpoint"),
    "generation": ("mmreason.core.config:GenerationConfig", "the generation backend: hf, vllm or an OpenAI-compatible server"),
    "algorithm": ("mmreason.train.config:AlgorithmConfig", "what RL or SFT optimises (presets may also set trainer.*)"),
    "data": ("mmreason.train.config:DataConfig", "training records: the toy task or a dataset on disk"),
    "logger": ("mmreason.train.config:LoggerConfig", "console, metrics.jsonl and wandb"),
    "synth": ("mmreason.synth.config:SynthConfig", "the synth block (documents -> KG -> questions -> dataset)"),
    "preset": (None, "whole-run presets (`+preset=<name>`, package _global_): real-hardware settings"),
}
GROUP = object()  # the default of a section that is a config group (listed with its group)
ENTRY_SCHEMAS = {
    "synth": "mmreason.synth.config:SynthRunConfig",
    "train": "mmreason.train.config:TrainConfig",
    "eval": "mmreason.eval.config:EvalRunConfig",
    "diagnostics": "mmreason.eval.config:DiagnosticsRunConfig",
    "pipeline": "mmreason.pipeline.config:PipelineConfig",
    "sweep": "mmreason.pipeline.config:SweepConfig",
}


def _load(spec: str):
    mod, name = spec.split(":")
    return getattr(importlib.import_module(mod), name)


@cache
def field_comments(cls: type) -> dict[str, str]:
    """{field: the comment on its line (and on the comment-only lines right after it)} from the class source."""
    lines = inspect.getsource(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    out: dict[str, str] = {}
    current = None
    for tok in tokenize.generate_tokens(io.StringIO(lines).readline):
        if tok.type == tokenize.NAME and tok.start[1] == 4 and tok.string in names:
            current = tok.string
        elif tok.type == tokenize.COMMENT and current is not None:
            text = tok.string.lstrip("#").strip()
            if tok.start[1] == 4 or tok.line[: tok.start[1]].strip() == "":  # a continuation line
                out[current] = f"{out.get(current, '')} {text}".strip()
            else:
                out[current] = text
        elif tok.type == tokenize.NAME and tok.start[1] == 4 and tok.string == "def":
            current = None
    return out


def _type_name(tp) -> str:
    if isinstance(tp, str):
        return tp.replace("typing.", "")
    if dataclasses.is_dataclass(tp):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("<class '", "").replace("'>", "")


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        v = f.default_factory()  # type: ignore[misc]
        return None if dataclasses.is_dataclass(v) else v
    return "(required)"


def keys(cls: type, prefix: str = "", groups: tuple[str, ...] = ()) -> list[tuple[str, str, object, str]]:
    """(dotted key, type, default, meaning) of every leaf field of a config dataclass, nested sections expanded
    (a top-level section named in `groups` is one row pointing at that config group instead)."""
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    rows = []
    for f in dataclasses.fields(cls):
        tp = hints.get(f.name, f.type)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(tp) and not prefix and f.name in groups:
            rows.append((key, tp.__name__, GROUP, f"config group `{f.name}`: its keys are listed under Config groups"))
        elif dataclasses.is_dataclass(tp):
            rows += keys(tp, key + ".")
        else:
            rows.append((key, _type_name(tp), _default(f), comments.get(f.name, "")))
    return rows


def _cell(v) -> str:
    return "null" if v is None else str(v).lower() if isinstance(v, bool) else repr(v) if isinstance(v, str) else str(v)


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def table(cls: type, prefix: str = "", groups: tuple[str, ...] = ()) -> str:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    rows += [f"| `{k}` | `{_esc(t)}` | {'–' if d is GROUP else f'`{_esc(_cell(d))}`'} | {_esc(m)} |"
             for k, t, d, m in keys(cls, prefix, groups)]
    return "\n".join(rows)


def presets(group: str) -> list[tuple[str, str]]:
    """(name, file text) of the YAML presets in conf/<group>/."""
    d = conf_dir() / group
    return [(p.stem, p.read_text()) for p in sorted(d.glob("*.yaml"))] if d.is_dir() else []


def group_markdown(group: str) -> str:
    """A config group: its keys (from the dataclass its files fill) and each preset's YAML as shipped."""
    spec, what = GROUPS[group]
    out = [f"### `{group}`: {what}", ""]
    if spec:
        out += [f"Schema `{spec.replace(':', '.')}`.", "", table(_load(spec), f"{group}."), ""]
    for name, text in presets(group):
        out += [f"??? note \"`{group}={name}`: conf/{group}/{name}.yaml\"", "", "    ```yaml"]
        out += [f"    {line}" if line else "" for line in text.rstrip().splitlines()] + ["    ```", ""]
    return "\n".join(out)


def entry_markdown(entry: str) -> str:
    """The keys of an entry config (`python -m mmreason.<entry>`), from its registered schema."""
    importlib.import_module(ENTRY_MODULES[entry])
    spec = ENTRY_SCHEMAS[entry]
    cls = _load(spec)
    doc = inspect.getdoc(cls) or ""
    return "\n".join([f"### `{entry}` (conf/{entry}.yaml)", "", f"Schema `{spec.replace(':', '.')}`: {doc}", "",
                      table(cls, groups=tuple(GROUPS)), ""])


def reference_markdown() -> str:
    """The whole configuration reference: every entry config, then every config group with its presets."""
    parts = ["## Entry configs", ""] + [entry_markdown(e) for e in ENTRY_SCHEMAS]
    parts += ["## Config groups", "", "Select a preset with `<group>=<name>` (e.g. `model=qwen2_5_vl_7b`); the "
              "files hold values only, their keys are the schema's.", ""] + [group_markdown(g) for g in GROUPS]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m mmreason.pipeline.configdoc", description=__doc__.splitlines()[0])
    ap.add_argument("entry", nargs="?", choices=sorted(ENTRY_SCHEMAS), help="one entry config (default: everything)")
    ap.add_argument("-o", "--out", type=Path, help="write the Markdown here")
    a = ap.parse_args(argv)
    md = entry_markdown(a.entry) if a.entry else reference_markdown()
    if a.out:
        a.out.write_text(md)
    else:
        print(md)


if __name__ == "__main__":
    main()
