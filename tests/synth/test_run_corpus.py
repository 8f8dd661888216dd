"""The part-2 pipeline on examples/corpus (solver off for speed; the solver is tested in test_score.py and
test_run_resume.py): counts, coverage, recomputed answers, image grounding, near-duplicates, splits, formats."""

from __future__ import annotations

import json
import re
from itertools import combinations
from pathlib import Path

import pytest

from mmreason.core.schema import validate_record

REPO = Path(__file__).resolve().parents[2]
ALL17 = {"Entity", "STSC", "STMC", "MT", "MTMC", "MC", "SISC", "SIMC", "MI", "MIMC", "SFSC", "SFMC", "MF", "MFMC",
         "STSI", "STSF", "SISF", "ST"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from mmreason.synth.run import run_synth

    out = tmp_path_factory.mktemp("synth")
    cfg = {"synth": {"input_dir": str(REPO / "examples" / "corpus"), "out_dir": str(out), "progress": False,
                     "kg": {"graphml": False}, "score": {"difficulty": {"solver": None}}}}
    hf = run_synth(cfg)
    from mmreason.core.io import read_jsonl
    from mmreason.synth.kg.store import load_graph

    recs = list(read_jsonl(out / "score" / "records.jsonl"))
    return {"out": out, "hf": hf, "cfg": cfg, "records": recs, "kg": load_graph(out / "kg" / "graph.json")}


def test_counts_cover_all_task_types_and_domains(run):
    recs = run["records"]
    assert len(recs) >= 1000
    types = {r["task_type"] for r in recs}
    assert ALL17 <= types
    assert {"Entity-2hop", "MT-join"} <= types  # multi-hop variants
    assert {r["domain"] for r in recs} == {"chemistry", "history", "papers", "reports", "law"}
    for r in recs:
        validate_record(r)


def test_each_benchmark_type_has_20_questions_and_each_needs_its_required_kinds(run):
    from synthfix import assert_needed

    per = {t: sum(r["task_type"] == t for r in run["records"]) for t in ALL17}
    assert min(per.values()) >= 20, per
    assert_needed(run["kg"], run["records"])


def _walk_by_hand(g, spec) -> tuple[str | float, list[str]]:
    """The chain re-walked on the networkx graph itself (not generate.compute): (answer, entities visited)."""
    st = spec["start"]
    if "entity" in st:
        cur = st["entity"]
    else:  # the one row of the table with that value
        (cur,) = [u for u, t, d in g.in_edges(st["table"], data=True) if d["type"] == "has_attribute"
                  and d["name"] == st["column"] and d["value"] == st["value"]]
    seen = [cur]
    for step in spec["steps"]:
        edges = g.out_edges(cur, data=True) if step["dir"] == "out" else g.in_edges(cur, data=True)
        nxt = {(w if step["dir"] == "out" else u) for u, w, d in edges if d["type"] == "relation"
               and d["name"] == step["relation"] and d.get("table") == step.get("table", d.get("table"))}
        (cur,) = nxt - set(seen)
        seen.append(cur)
    if spec.get("attr"):
        (val,) = [d["value"] for _, t, d in g.out_edges(cur, data=True) if t == spec["attr"]["table"]
                  and d["type"] == "has_attribute" and d["name"] == spec["attr"]["column"]]
        return val, seen
    return g.nodes[cur]["name"], seen


def test_four_hop_entity_questions_rederive_by_walking_the_graph(run):
    g = run["kg"].g
    chains = [p for p in (json.loads(r["provenance"]) for r in run["records"] if r["task_type"] == "Entity")
              if p["family"] == "entity_chain"]
    assert any(p["hops"] == 4 for p in chains)
    for p in chains:
        spec = p["compute"]
        assert p["hops"] == len(spec["steps"]) + ("table" in spec["start"]) + bool(spec.get("attr")) <= 4
        answer, seen = _walk_by_hand(g, spec)
        if isinstance(answer, str):
            assert answer == p["answer_value"], p["question"]
        else:
            assert float(p["answer_value"]) == answer, p["question"]
        # only a start given by name is named: bridges, the answer and a start described by its value are not
        for n in seen[1:] if "entity" in spec["start"] else seen:
            assert not re.search(rf"(?<!\w){re.escape(g.nodes[n]['name'])}(?!\w)", p["question"]), p["question"]


# MMKG-RDS data_synthesis/constants.py TASK_INFO: the official task names
OFFICIAL = ["Entity", "single_table", "single_table_mutihop", "single_table_single_text", "single_table_multi_text_qa",
            "multi_table", "multi_table_multihop", "multi_table_multi_text", "single_text", "multi_text",
            "single_text_multihop", "multi_text_multihop", "single_formula", "single_formula_single_text",
            "single_formula_multi_text", "multi_formula", "multi_formula_multihop", "multi_formula_multi_text",
            "single_chart", "single_chart_single_text", "single_chart_multi_text", "multi_chart",
            "multi_chart_multi_text", "single_table_single_chart", "single_table_single_chart_multihop",
            "single_table_single_formula", "single_table_single_formula_multihop", "single_chart_single_formula",
            "single_chart_single_formula_multihop", "single_formula_multihop", "single_chart_multihop",
            "multi_chart_multihop"]
assert len(OFFICIAL) == 32


def _qa(run, tmp_path, **synth):
    """sample + qa on the fixture's graph with other settings; the records."""
    import shutil

    from mmreason.core.io import read_jsonl
    from mmreason.synth.run import run_qa, run_sample

    shutil.copytree(run["out"] / "kg", tmp_path / "kg")
    cfg = {"synth": {**run["cfg"]["synth"], "out_dir": str(tmp_path), **synth}}
    run_sample(cfg)
    return list(read_jsonl(run_qa(cfg)))


def test_official_presets_compose_by_their_names_and_generate(run, tmp_path):
    from mmreason.core.config import compose
    from mmreason.synth.config import synth_settings
    from mmreason.synth.tasks import load_task_types

    cfg = compose("synth", [f"synth.tasks.include=[{','.join(OFFICIAL)}]", f"synth.out_dir={tmp_path}"])
    s, _ = synth_settings(cfg)
    tasks = load_task_types(s["tasks"]["dirs"], s["tasks"]["include"])
    assert len(tasks) == len(OFFICIAL)
    by = {a: t for t in tasks for a in [t.name, *t.aliases]}
    assert all(by[n].max_steps == (4 if n == "Entity" or "hop" in n else 1) for n in OFFICIAL)
    recs = _qa(run, tmp_path, tasks={"include": OFFICIAL, "max_records": 5})
    got = {r["task_type"] for r in recs}
    assert {by[n].name for n in OFFICIAL} <= got
    hops = [json.loads(r["provenance"])["hops"] for r in recs if "multihop" in r["task_type"]]
    assert min(hops) >= 2  # the *_multihop presets chain two hops or more
    from synthfix import assert_needed

    assert_needed(run["kg"], recs)  # every preset's questions need each kind it requires (removing one breaks them)


def test_ans_types_question_need_info_and_extra_requirements_filter(run, tmp_path):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    base = "nodes: {Table: 1}\nsampler: {name: pattern, pattern: Table}\n"
    (tasks / "a.yaml").write_text("name: ENT\n" + base + "questions: [table_lookup, table_argmax, table_relation]\n"
                                  "ans_types: [Entity]\nquestion_need_info: [Table]\n")
    chart = "nodes: {Image: 1}\nhidden: [Table]\nsampler: {name: pattern, pattern: 'Image-[plots]->Table'}\n" \
            "questions: [chart_argmax, chart_value]\n"
    (tasks / "b.yaml").write_text("name: CHART\n" + chart + "extra_requirements: {Image: {type: class, require: [chart]}}\n")
    (tasks / "c.yaml").write_text("name: OTHER\n" + chart + "extra_requirements: {Image: {type: class, require: [other]}}\n")
    recs = _qa(run, tmp_path / "out", tasks={"dirs": [str(tasks)]})
    names = {n for n, d in run["kg"].g.nodes(data=True) if d["type"] == "Entity" for n in [d["name"]]}
    ent = [json.loads(r["provenance"]) for r in recs if r["task_type"] == "ENT"]
    assert ent and all(p["answer_value"] in names and "Table" in p["question"] for p in ent)
    assert any(r["task_type"] == "CHART" for r in recs) and not any(r["task_type"] == "OTHER" for r in recs)


@pytest.mark.parametrize("method", ["random", "bfs", "acs"])
def test_subgraph_sampling_keeps_paths_inside_a_sampled_subgraph(run, tmp_path, method):
    from mmreason.synth.sampling.subgraph import SUBGRAPHS, subgraph_paths
    from mmreason.synth.tasks import load_task_types

    kg = run["kg"]
    import random

    nodes = SUBGRAPHS[method](kg.g, 60, random.Random(0))
    assert 1 < len(nodes) <= 60
    if method != "random":  # bfs and acs grow connected subgraphs
        import networkx as nx

        assert nx.is_connected(kg.g.subgraph(nodes).to_undirected())
    (st,) = load_task_types(include=["STSC"])
    paths = subgraph_paths(kg, st.sampler, 0, method=method, order=60, rounds=30)
    assert paths and len({p.key() for p in paths}) == len(paths)
    whole = {p.key() for p in subgraph_paths(kg, st.sampler, 0)}
    assert {p.key() for p in paths} <= whole  # a subgraph's paths are paths of the graph
    recs = _qa(run, tmp_path, tasks={"include": ["STSC"]}, sample={"subgraph": {"method": method, "order": 60}})
    assert recs and all(r["task_type"] == "STSC" for r in recs)


def _graded_right(r) -> bool:
    from mmreason.core.grading import grade

    value = json.loads(r["provenance"])["answer_value"]
    return grade(f"\\boxed{{{r['answer']}}}", r["answer"], r["answer_type"], r["choices"]) and (
        r["answer_type"] != "choice" or r["choices"][ord(r["answer"]) - 65] == value)


def test_true_false_questions_answer_whether_the_claim_is_the_computed_answer(run, tmp_path):
    from synthfix import assert_needed

    from mmreason.core.grading import grade
    from mmreason.synth.generate.compute import evaluate, render

    recs = _qa(run, tmp_path, tasks={"include": ["ST", "Entity", "STSC"]}, generate={"true_false": 1.0})
    assert recs and all(r["answer_type"] == "boolean" for r in recs)
    assert {r["answer"] for r in recs} == {"yes", "no"}
    for r in recs:
        p = json.loads(r["provenance"])
        inner = p["compute"]["args"][0]
        # yes exactly when the claimed answer is the inner question's answer, recomputed on the graph
        assert r["answer"] == ("yes" if render(evaluate(run["kg"], inner), inner) == p["compute"]["claim"] else "no")
        assert p["question"].startswith(p["base_question"]) and r["problem"].endswith("Answer yes or no in \\boxed{}.")
        assert grade(f"\\boxed{{{r['answer']}}}", r["answer"], "boolean")
        assert not grade("\\boxed{" + ("no" if r["answer"] == "yes" else "yes") + "}", r["answer"], "boolean")
    assert_needed(run["kg"], recs)  # checking a claim needs the same evidence as answering the question


def test_fuzzified_chains_name_no_entity_of_the_chain_and_grade(run):
    fuzzy = [r for r in run["records"] if r["task_type"] == "Entity"
             and "table" in json.loads(r["provenance"])["compute"].get("start", {})]
    assert fuzzy
    for r in fuzzy:
        p = json.loads(r["provenance"])
        st = p["compute"]["start"]
        (e,) = [u for u, t, d in run["kg"].g.in_edges(st["table"], data=True) if d["type"] == "has_attribute"
                and d["name"] == st["column"] and d["value"] == st["value"]]
        assert run["kg"].g.nodes[e]["name"] not in p["question"]  # described by its value, never named
        assert _graded_right(r)


def test_chinese_questions_are_generated_and_graded(run, tmp_path):
    from mmreason.core.grading import grade

    recs = _qa(run, tmp_path, language="zh", tasks={"include": ["ST", "Entity", "STSC", "SI"]},
               generate={"true_false": 0.3})
    assert {r["task_type"] for r in recs} == {"ST", "Entity", "STSC", "SI"}
    for r in recs:
        q = json.loads(r["provenance"])["question"]
        assert re.search(r"[\u4e00-\u9fff]", q) and "问题：" + q in r["problem"], q
        assert "\\boxed{}" in r["problem"].splitlines()[-1] and re.search(r"[\u4e00-\u9fff]", r["problem"].splitlines()[-1])
        assert _graded_right(r)
    tf = [r for r in recs if r["answer_type"] == "boolean"]
    assert {r["answer"] for r in tf} == {"是", "否"}
    for r in tf:
        other = "否" if r["answer"] == "是" else "是"
        assert grade(f"答案：\\boxed{{{r['answer']}}}", r["answer"], "boolean")
        assert not grade(f"答案：\\boxed{{{other}}}", r["answer"], "boolean")
        assert grade("\\boxed{" + ("yes" if r["answer"] == "是" else "no") + "}", r["answer"], "boolean")


def test_every_template_answer_recomputes_from_the_graph(run):
    from mmreason.synth.generate.compute import evaluate, render

    kg = run["kg"]
    for r in run["records"]:
        prov = json.loads(r["provenance"])
        assert prov["generator"] == "template"
        value = render(evaluate(kg, prov["compute"]), prov["compute"])
        if r["answer_type"] == "choice":
            assert r["choices"][ord(r["answer"]) - 65] == value, r["id"]
        else:
            assert r["answer"] == value, r["id"]


def test_a_tampered_graph_breaks_the_recomputation(run):
    """The check above can fail: change one table cell and a lookup no longer matches."""
    from mmreason.synth.generate.compute import edge_index, evaluate, render

    kg = run["kg"]
    rec = next(r for r in run["records"] if json.loads(r["provenance"])["family"] == "table_lookup")
    prov = json.loads(rec["provenance"])
    key = prov["compute"]["args"][0]["cell"]
    u, v, d = edge_index(kg)[key]
    old = d["value"]
    try:
        d["value"] = old + 1
        assert render(evaluate(kg, prov["compute"]), prov["compute"]) != rec["answer"]
    finally:
        d["value"] = old


def test_image_grounded_share_and_no_answer_in_the_text(run):
    from mmreason.synth.generate.template import contains_value, plotted_values, stem_of
    from mmreason.synth.generate.view import View

    kg, recs = run["kg"], run["records"]
    img = [r for r in recs if json.loads(r["provenance"])["image_grounded"]]
    assert len(img) >= len(recs) / 4
    for r in img:
        prov = json.loads(r["provenance"])
        assert r["images"] and r["problem"].count("<image>") == len(r["images"])
        stem = stem_of(r["problem"])
        values = plotted_values(kg, View(kg, prov["node_ids"], set()))
        assert values and not [x for x in values if contains_value(stem, x)], r["id"]
        if r["answer_type"] == "number" and not prov["answer_in_text_ok"]:
            assert not contains_value(stem, r["answer"]), r["id"]


def test_no_near_duplicates_above_threshold(run):
    from mmreason.synth.score.diversity import jaccard, shingles, signature_text

    thr = 0.8
    sets = [shingles(signature_text(r)) for r in run["records"]]
    worst = max(jaccard(a, b) for a, b in combinations(sets, 2))
    assert worst < thr


def test_splits_do_not_share_documents_and_formats_open(run):
    import datasets
    import pandas as pd
    import pyarrow.parquet as pq

    dd = datasets.load_from_disk(str(run["hf"]))
    assert set(dd) == {"train", "validation", "test"}
    assert all(len(json.loads(r["provenance"])["doc_ids"]) == 1 for r in run["records"])  # one source document each
    docs = {s: {json.loads(p)["doc_ids"][0] for p in dd[s]["provenance"]} for s in dd}
    assert not (docs["train"] & docs["validation"]) and not (docs["train"] & docs["test"]) \
        and not (docs["validation"] & docs["test"])
    assert sum(len(dd[s]) for s in dd) == len(run["records"])
    row = next(r for r in dd["train"] if r["images"])
    assert row["images"][0].size[0] > 0  # decoded PIL image
    out = run["out"] / "dataset"
    for s in dd:
        df = pd.read_parquet(out / "verl" / f"{s}.parquet")
        assert {"prompt", "images", "answer", "data_source", "ability", "reward_model", "extra_info", "problem"} <= set(df.columns)
        assert len(df) == len(dd[s])
        r0 = df.iloc[0]
        assert r0["prompt"][0]["role"] == "user" and r0["reward_model"]["style"] == "rule"
        assert r0["reward_model"]["ground_truth"] == r0["answer"]
        assert pq.read_table(out / "verl" / f"{s}.parquet").num_rows == len(df)
    lines = (out / "messages.jsonl").read_text().splitlines()
    m = json.loads(lines[0])
    assert [x["role"] for x in m["messages"]] == ["user", "assistant"] and "\\boxed{" in m["messages"][1]["content"]
    for p in m["images"]:
        assert (out / p).is_file()
    share = json.loads((out / "sharegpt.json").read_text())
    assert len(share) == len(lines) and share[0]["conversations"][0]["from"] == "human"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["records"] == len(run["records"]) and set(stats["split"]) == {"train", "validation", "test"}
    assert all(Path(p).is_file() for p in stats["plots"])


def test_quality_fields_and_support(run):
    for r in run["records"][:200]:
        q = json.loads(r["quality"])
        assert q["support"]["support"] == 1.0 and q["support"]["verified"]
        single = r["task_type"] == "ST"  # one table on its own: a one-node path
        assert q["complexity"]["hops"] >= (0 if single else 1) and q["complexity"]["operations"] >= 1
        assert "diversity" in q


def test_rerun_skips_every_stage(run):
    from mmreason.synth.run import run_synth

    out = run["out"]
    before = {p: p.stat().st_mtime_ns for p in [out / "qa" / "records.jsonl", out / "score" / "records.jsonl",
                                                 out / "dataset" / "stats.json"]}
    run_synth(run["cfg"])
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_problem_is_open_book_and_closed_book_leaves_text_out(run):
    import random

    from mmreason.synth.generate.families import FAMILIES
    from mmreason.synth.generate.template import render
    from mmreason.synth.generate.view import View
    from mmreason.synth.tasks import load_task_types

    kg = run["kg"]
    task = load_task_types(include=["STSC"])[0]
    rec = next(r for r in run["records"] if r["task_type"] == "STSC")
    assert re.search(r"^Passage 1: ", rec["problem"], re.M) and "| --- |" not in rec["problem"]
    assert "|---|" in rec["problem"]  # the table as text
    prov = json.loads(rec["provenance"])
    view = View(kg, [n for n in prov["node_ids"] if n in kg.g][:3], set(task.nodes))
    d = None
    rng = random.Random(0)
    while d is None:
        d = FAMILIES["table_lookup"](view, rng)
    closed, _ = render(kg, view, task, d, closed_book=True)
    assert "Passage" not in closed and "|---|" not in closed and d.question in closed
