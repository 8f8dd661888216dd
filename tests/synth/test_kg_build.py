from __future__ import annotations

import json
import shutil
import subprocess
import sys

from synthfix import CORPUS, REPO, FakeBackend, png

from mmreason.core.io import read_jsonl
from mmreason.synth.kg import build_kg, load_graph


def _input(tmp_path, domains=("chemistry", "law")):
    root = tmp_path / "in"
    for d in domains:
        shutil.copytree(CORPUS / d, root / d)
    return root


def _bad_files(root, tmp_path):
    bad = root / "bad"
    bad.mkdir()
    (tmp_path / "secret.png").write_bytes(b"top secret")
    png(bad / "ok.png")
    (bad / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    (bad / "mix.md").write_text(
        "# Mixed\n\nSee Table 1 and Figure 1.\n\n| Item | Weight (kg) |\n|---|---|\n| Box | 2 | 9 |\n\n"
        "![Figure 1: Weight of the items](broken.png)\n\n![Figure 2: Escape](../../secret.png)\n\n"
        "![Figure 3: Missing](nope.png)\n\n$$ \\frac{a}{ \\tag{1} $$\n", encoding="utf-8")
    (bad / "empty.md").write_text("", encoding="utf-8")
    (bad / "latin.txt").write_bytes("Na\xefve text about Table 1.".encode("latin-1"))
    (bad / "x_content_list.json").write_text("[{", encoding="utf-8")
    return bad


def test_build_report_resume_and_bad_input(tmp_path, monkeypatch):
    root = _input(tmp_path)
    _bad_files(root, tmp_path)
    out = tmp_path / "out"
    opened = []
    real_open = open

    def spy(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr("builtins.open", spy)
    monkeypatch.setattr("io.open", spy)  # pathlib reads through io.open
    r = build_kg({"synth": {"input_dir": str(root), "out_dir": str(out)}}, progress=False)
    monkeypatch.undo()
    assert any(f.endswith("ok.png") or f.endswith("mix.md") for f in opened)  # the spy sees reads
    assert not any("secret" in f for f in opened)

    kgdir = out / "kg"
    assert (kgdir / "graph.json").is_file() and (kgdir / "graph.graphml").is_file()
    assert r["documents"] == 10 and r["reused"] == 0
    assert r["counts"]["nodes"]["Document"] == 8  # empty.md and the broken content list give no graph
    ev = r["eval"]
    assert ev["documents"] == 6 and ev["facts"]["precision"] >= 0.95 and ev["facts"]["recall"] >= 0.95
    errors = read_jsonl(kgdir / "errors.jsonl")
    by_file: dict[str, str] = {}
    for e in errors:
        by_file[e["file"]] = by_file.get(e["file"], "") + " | " + e["reason"]
    mix = by_file["bad/mix.md"]
    for needle in ("row 1 has 3 cells", "corrupt", "points outside the input folder", "'nope.png' is missing",
                   "sympy cannot parse"):
        assert needle in mix, needle
    assert "empty document" in by_file["bad/empty.md"]
    assert "not valid UTF-8" in by_file["bad/latin.txt"]
    assert "not valid JSON" in by_file["bad/x_content_list.json"]
    assert not any(f.startswith(("chemistry", "law")) for f in by_file)  # the good corpus stays clean

    kg = load_graph(kgdir / "graph.json")
    assert kg.g.number_of_edges() == r["graph"].g.number_of_edges()
    assert kg.g.graph["input_dir"] == str(root.resolve())
    imgs = {kg.g.nodes[n]["label"]: kg.image_file(n) for n in kg.nodes_of("Image") if "chemistry_000" in
            kg.g.nodes[kg.g.nodes[n]["doc"]]["path"]}
    assert imgs["Figure 1"] == root.resolve() / "chemistry" / "images" / "chemistry_000_fig1.png"
    assert imgs["Figure 1"].is_file()

    # resume: drop one partial and the final graph; only that document is rebuilt
    parts = sorted((kgdir / "docs").glob("*.json"))
    assert len(parts) == 10
    parts[0].unlink()
    (kgdir / "graph.json").unlink()
    r2 = build_kg({"input_dir": str(root), "out_dir": str(out)}, progress=False)
    assert r2["reused"] == 9
    assert r2["counts"] == r["counts"]
    assert json.loads((kgdir / "graph.json").read_text())["graph"]["nodes"] == \
        json.loads(json.dumps(__import__("networkx").node_link_data(r["graph"].g, edges="edges")["nodes"]))
    # an edited document is rebuilt, not reused
    md = root / "law" / "law_000.md"
    md.write_text(md.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert build_kg({"input_dir": str(root), "out_dir": str(out)}, progress=False)["reused"] == 9


def test_llm_build_second_run_makes_no_calls(tmp_path):
    root = _input(tmp_path, ("history",))
    for p in list(root.rglob("*.md"))[1:]:
        p.unlink()
    reply = json.dumps({"entities": [{"name": "Napoleon Bonaparte", "type": "Person"}], "relations": []})

    def answers(text, chat):
        return '{"kind": "chart", "table": null, "parts": []}' if "Describe this figure" in text else reply

    cfg = {"input_dir": str(root), "out_dir": str(tmp_path / "out"),
           "kg": {"extractors": ["structural", "llm"], "resume": False}}
    fake = FakeBackend(answers)
    r1 = build_kg(cfg, backend=fake, progress=False)
    assert r1["calls"] == fake.calls > 0
    assert any(d["extractor"] == "llm" for *_, d in r1["graph"].edges_of("mentions"))
    fake2 = FakeBackend(answers)
    r2 = build_kg(cfg, backend_factory=lambda root_cfg: fake2, progress=False)
    assert fake2.calls == 0 and r2["calls"] == 0 and r2["cache_hits"] == r1["calls"]
    assert r2["counts"] == r1["counts"]


def test_hydra_entry_point(tmp_path):
    root = _input(tmp_path, ("papers",))
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "mmreason.synth", "stage=kg", f"synth.input_dir={root}",
                          f"synth.out_dir={out}", f"hydra.run.dir={tmp_path / 'hydra'}"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "precision 1.0000" in res.stdout and "Formula" in res.stdout
    assert (out / "kg" / "graph.json").is_file()
    bad = subprocess.run([sys.executable, "-m", "mmreason.synth", "stage=nope", f"synth.input_dir={root}",
                          f"synth.out_dir={out}", f"hydra.run.dir={tmp_path / 'hydra'}"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert bad.returncode != 0 and "unknown stage" in bad.stderr + bad.stdout


def test_backend_failure_keeps_structural_graph_and_is_redone(tmp_path):
    root = _input(tmp_path, ("reports",))
    for p in list(root.rglob("*.md"))[1:]:
        p.unlink()

    class Down(FakeBackend):
        def generate(self, chats, params):
            raise ConnectionError("server unreachable")

    cfg = {"input_dir": str(root), "out_dir": str(tmp_path / "out"), "kg": {"extractors": ["structural", "llm"]}}
    r = build_kg(cfg, backend=Down(lambda t, c: ""), progress=False)
    assert r["counts"]["nodes"]["Table"] == 2 and r["eval"]["facts"]["recall"] == 1.0
    assert any("backend failed (ConnectionError" in e["reason"] for e in r["errors"])
    up = FakeBackend(lambda t, c: '{"entities": [], "relations": []}' if "Extract" in t else '{"kind": "other"}')
    r2 = build_kg(cfg, backend=up, progress=False)
    assert r2["reused"] == 0 and up.calls > 0 and not any("backend failed" in e["reason"] for e in r2["errors"])
    assert build_kg(cfg, backend=up, progress=False)["reused"] == 1
