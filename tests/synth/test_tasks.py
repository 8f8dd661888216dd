"""Task types as YAML: the 17 benchmark types ship; a user adds one without code; bad files are named."""

from __future__ import annotations

import pytest

from mmreason.synth.tasks import load_task_types

ALL17 = {"Entity", "STSC", "STMC", "MT", "MTMC", "MC", "SISC", "SIMC", "MI", "MIMC", "SFSC", "SFMC", "MF", "MFMC",
         "STSI", "STSF", "SISF"}


def test_shipped_task_types():
    tasks = {t.name: t for t in load_task_types()}
    assert ALL17 <= set(tasks)
    assert any(t.multi_hop for t in tasks.values())
    assert tasks["SISC"].nodes == {"Image": 1, "Chunk": 1} and tasks["SISC"].image_grounded
    assert tasks["MTMC"].sampler.node_counts == {"Table": "2+", "Chunk": "2+"}
    assert not tasks["STSF"].image_grounded


def test_user_task_type_in_yaml(tmp_path):
    (tmp_path / "mine.yaml").write_text(
        "name: TableOnly\nnodes: {Table: 1}\nsampler: {name: pattern, pattern: 'Table'}\n"
        "questions: [table_lookup, table_sum]\nmax_records: 5\n")
    (t,) = load_task_types([tmp_path])
    assert t.name == "TableOnly" and t.max_records == 5 and t.sampler.pattern == "Table"
    (t2,) = load_task_types([tmp_path], overrides={"*": {"max_records": 2}})
    assert t2.max_records == 2


def test_bad_task_type_names_file_and_reason(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: X\nnodes: {Table: 1}\nsampler: {name: pattern}\nquestions: [nope]\n")
    with pytest.raises(ValueError, match=r"bad.yaml.*unknown question families \['nope'\]"):
        load_task_types([tmp_path])
    with pytest.raises(ValueError, match="unknown task types"):
        load_task_types(include=["NOPE"])
    (tmp_path / "bad.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match=r"bad.yaml: a task type is a YAML mapping, got list"):
        load_task_types([tmp_path])
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ValueError, match=r"bad.yaml: not a readable YAML file"):
        load_task_types([tmp_path])


def test_max_steps_and_official_names(tmp_path):
    from mmreason.synth.tasks import load_task_types

    (ent,) = load_task_types(include=["Entity"])
    assert ent.max_steps == 4 and ent.sampler.hops == 4  # MMKG-RDS Entity walks four steps
    (short,) = load_task_types(include=["Entity"], overrides={"*": {"max_steps": 2}})
    assert short.max_steps == 2 and short.sampler.hops == 2
    (mt,) = load_task_types(include=["multi_table_multihop"])  # an official name is an alias
    assert mt.name == "MT-multihop" and mt.max_steps == 4
    assert "ST-multihop" not in {t.name for t in load_task_types()}  # default: false presets run by name only
    (tmp_path / "x.yaml").write_text("name: X\nnodes: {Table: 1}\nsampler: {name: pattern, pattern: Table}\n"
                                     "questions: [table_lookup]\nans_types: [Vector]\n")
    with pytest.raises(ValueError, match="unknown ans_types"):
        load_task_types([tmp_path])
