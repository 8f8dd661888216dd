"""Eval scores plain-graded benchmarks (synth) with the training reward's strictness: strict by default,
`eval.benchmark_args.<name>.lenient=true` relaxes what core.grading's lenient rule relaxes."""

import json

from evalfix import png_bytes

from mmreason.eval.benchmarks import get_benchmark


def test_synth_scoring_is_strict_unless_lenient(tmp_path):
    import datasets

    from mmreason.core.schema import features

    rec = {"id": "s0", "images": [{"bytes": png_bytes(), "path": None}], "problem": "<image>Which?",
           "answer": "C", "answer_type": "choice", "choices": ["1", "2", "3", "4"], "task_type": "STSC",
           "domain": "geo", "provenance": json.dumps({"doc_ids": ["d"]}), "quality": ""}
    datasets.Dataset.from_list([rec], features=features()).save_to_disk(str(tmp_path / "split"))
    for reply, strict, lenient in [("Option C is the right one", 0.0, 1.0), ("\\boxed{\\sqrt[3]{74}}", 0.0, 0.0),
                                   ("\\boxed{C}", 1.0, 1.0)]:
        for opts, expected in (({}, strict), ({"lenient": True}, lenient)):
            bench = get_benchmark("synth", **opts)
            loaded = bench.load(tmp_path / "split")
            assert bench.score(loaded.records, {"s0": reply})["overall"] == expected, (reply, opts)
