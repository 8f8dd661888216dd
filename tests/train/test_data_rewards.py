"""Data loading, prompt order, rewards, LR schedule, dynamic sampling and config validation (no training)."""

import json

import pytest

from mmreason.core.generation.base import Completion, GenerationBackend
from mmreason.core.toy import make_shape_records
from mmreason.train.config import DataConfig, RewardConfig, TrainerConfig
from mmreason.train.data import PromptSampler, filter_long_prompts, read_records
from mmreason.train.rewards import RewardFn, format_ok, load_function, overlong_penalty
from mmreason.train.rollout import collect_rollouts, informative, sampling_seed
from mmreason.train.runtime import lr_factor

# ------------------------------------------------------------------ toy records


def test_toy_records_are_deterministic_and_valid():
    from mmreason.core.schema import validate_record

    a, b = make_shape_records(6, seed=3), make_shape_records(6, seed=3)
    assert [r["id"] for r in a] == [r["id"] for r in b]
    assert all(x["images"][0].tobytes() == y["images"][0].tobytes() for x, y in zip(a, b))
    other = make_shape_records(6, seed=4)
    assert {r["id"] for r in a}.isdisjoint(r["id"] for r in other)  # splits by seed do not overlap
    for r in a:
        validate_record(r)
        assert r["choices"] == ["red", "green", "blue", "yellow"] and r["problem"].startswith("<image>")
        w, h = r["images"][0].size
        assert 56 <= w <= 112 and 56 <= h <= 112


def test_toy_colour_answer_is_the_shapes_colour():
    from mmreason.core.toy import COLOURS

    for r in make_shape_records(12, seed=0):
        im = r["images"][0]
        colour = r["choices"]["ABCD".index(r["answer"])]
        assert COLOURS[colour] in {c for _, c in im.getcolors(maxcolors=10_000)}


def test_toy_other_tasks_and_bad_task():
    counts = make_shape_records(8, seed=0, task="count")
    assert all(r["choices"] == ["1", "2", "3", "4"] for r in counts)
    assert make_shape_records(2, seed=0, task="largest_colour")[0]["task_type"] == "toy_largest_colour"
    with pytest.raises(ValueError, match="unknown task"):
        make_shape_records(2, task="shape")


# ------------------------------------------------------------------ reading records


def _write_jsonl(tmp_path, recs):
    rows = []
    for i, r in enumerate(recs):
        p = tmp_path / f"im{i}.png"
        r["images"][0].save(p)
        rows.append({**r, "images": [p.name]})
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_read_records_from_jsonl_parquet_and_save_to_disk(tmp_path):
    import datasets

    from mmreason.core.schema import features

    recs = make_shape_records(3, seed=0)
    from_jsonl = read_records(_write_jsonl(tmp_path, [dict(r) for r in recs]))
    assert [r["answer"] for r in from_jsonl] == [r["answer"] for r in recs]
    ds = datasets.Dataset.from_list([dict(r) for r in recs], features=features())
    ds.save_to_disk(str(tmp_path / "ds"))
    ds.to_parquet(str(tmp_path / "ds.parquet"))
    for p in (tmp_path / "ds", tmp_path / "ds.parquet"):
        got = read_records(p)
        assert [r["id"] for r in got] == [r["id"] for r in recs]
        assert got[0]["images"][0].size == recs[0]["images"][0].size


def test_heldout_comes_from_eval_split_of_the_same_datasetdict(tmp_path):
    """data.path = data.eval_path = one DatasetDict (as the pipeline passes synth's): train from `split`,
    held-out from `eval_split`, never the training records."""
    import datasets

    from mmreason.core.schema import features
    from mmreason.train.data import load_records

    train, val = make_shape_records(3, seed=0), make_shape_records(2, seed=1)
    dd = datasets.DatasetDict(
        {s: datasets.Dataset.from_list([dict(r) for r in recs], features=features()) for s, recs in (("train", train), ("validation", val))}
    )
    dd.save_to_disk(str(tmp_path / "dd"))
    cfg = DataConfig(source="path", path=str(tmp_path / "dd"), eval_path=str(tmp_path / "dd"))
    got_train, got_heldout = load_records(cfg)
    assert [r["id"] for r in got_train] == [r["id"] for r in train]
    assert [r["id"] for r in got_heldout] == [r["id"] for r in val]
    with pytest.raises(ValueError, match="no split 'test'"):
        load_records(DataConfig(source="path", path=str(tmp_path / "dd"), eval_path=str(tmp_path / "dd"), eval_split="test"))


def test_read_records_names_the_bad_row(tmp_path):
    recs = make_shape_records(2, seed=0)
    recs[1]["answer"] = "Z"
    with pytest.raises(ValueError, match=r"row 1.*answer"):
        read_records(_write_jsonl(tmp_path, recs))
    with pytest.raises(ValueError, match="expected a save_to_disk"):
        (tmp_path / "x.csv").write_text("a")
        read_records(tmp_path / "x.csv")


def test_long_prompts_are_filtered(tiny_policy):
    _, processor = tiny_policy
    recs = make_shape_records(4, seed=0)
    recs[2] = {**recs[2], "problem": recs[2]["problem"] + " padding" * 200}
    kept, dropped = filter_long_prompts(recs, processor, DataConfig(), max_len=200)
    assert dropped == 1 and recs[2] not in kept and len(kept) == 3


# ------------------------------------------------------------------ prompt order


def test_prompt_sampler_covers_each_epoch_and_resumes_from_its_cursor():
    s = PromptSampler(5, seed=1)
    first = s.take(5)
    assert sorted(first) == [0, 1, 2, 3, 4]  # one epoch = a permutation
    s.take(3)
    state = s.state_dict()
    rest = s.take(6)
    t = PromptSampler(5, seed=1)
    t.load_state_dict(state)
    assert t.take(6) == rest
    assert PromptSampler(5, seed=2).take(5) != first or PromptSampler(5, seed=3).take(5) != first
    with pytest.raises(ValueError, match="made with 5 records"):
        PromptSampler(4, 1).load_state_dict(state)


def test_sampling_seeds_differ_by_step_and_attempt():
    seeds = {sampling_seed(0, s, a) for s in range(20) for a in range(3)}
    assert len(seeds) == 60 and sampling_seed(0, 5, 1) == sampling_seed(0, 5, 1)


# ------------------------------------------------------------------ rewards


def test_format_patterns():
    assert format_ok("so \\boxed{B}", "boxed")
    assert not format_ok("B", "boxed")
    assert format_ok("<think>red</think> \\boxed{A}", "think_boxed")
    assert not format_ok("\\boxed{A} <think>red</think>", "think_boxed")
    with pytest.raises(ValueError, match="format_pattern"):
        format_ok("x", "xml")


def test_overlong_penalty_hand_values():
    # budget 16, buffer 4: free up to 12 tokens, then -1/4 per token, -1 at 16
    assert [overlong_penalty(n, 16, 4) for n in (10, 12, 13, 14, 16)] == [0.0, 0.0, -0.25, -0.5, -1.0]
    assert overlong_penalty(16, 16, 0) == 0.0
    assert overlong_penalty(15, 16, 4, penalty=2.0) == -1.5


def test_reward_weights_user_function_and_overlong():
    rec = {"answer": "B", "answer_type": "choice", "choices": ["red", "green", "blue", "yellow"]}
    cfg = RewardConfig(accuracy=1.0, format=0.5, functions=[{"fn": "reward_fns:length_parity", "weight": 0.25}])
    fn = RewardFn(cfg, max_new_tokens=16, overlong_buffer=4)
    total, parts = fn(["\\boxed{B}", "A", "\\boxed{green}x"], [rec] * 3, [5, 14, 16])
    # 1 + 0.5 + 0.25·[9 chars: odd -> 0] ; 0 + 0 + 0.25·[1 char -> 0] - 0.5 ; 1 + 0.5 + 0.25·[even: 14 chars] - 1
    assert parts["accuracy"] == [1.0, 0.0, 1.0]
    assert total == pytest.approx([1.5, -0.5, 0.75])


def test_reward_grading_is_strict_unless_lenient():
    """reward.lenient reaches core.grading: a letter named in a sentence, or a LaTeX-only reply, is no answer
    to the RL reward by default."""
    rec = {"answer": "B", "answer_type": "choice", "choices": ["red", "green", "blue", "yellow"]}
    replies = ["Option B is the right one", "\\boxed{\\mathcal{B}_{green}}", "\\boxed{B"]
    assert RewardFn(RewardConfig())(replies, [rec] * 3)[1]["accuracy"] == [0.0, 0.0, 0.0]
    assert RewardFn(RewardConfig(lenient=True))(replies, [rec] * 3)[1]["accuracy"] == [1.0, 0.0, 0.0]


def test_bad_reward_function_specs():
    with pytest.raises(ValueError, match="package.module:function"):
        load_function("reward_fns.length_parity")
    with pytest.raises(ValueError, match="cannot import"):
        load_function("no_such_module_xyz:f")
    with pytest.raises(ValueError, match="no function"):
        load_function("reward_fns:nope")


# ------------------------------------------------------------------ LR schedule


def test_lr_schedule_hand_values():
    assert lr_factor(0, 10, "constant", warmup=4) == 0.25
    assert lr_factor(3, 10, "constant", warmup=4) == 1.0
    assert lr_factor(7, 10, "linear", warmup=4) == pytest.approx(0.5)  # (7-4)/(10-4) of the way down
    assert lr_factor(4, 10, "cosine", warmup=4) == pytest.approx(1.0)
    assert lr_factor(7, 10, "cosine", warmup=4) == pytest.approx(0.5)
    assert lr_factor(10, 10, "cosine", min_ratio=0.1) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        lr_factor(0, 10, "step")


# ------------------------------------------------------------------ dynamic sampling


class ScriptedBackend(GenerationBackend):
    """Answers each prompt with fixed texts: records whose id is in `right` get all-correct groups,
    ids in `mixed` half right, the rest all wrong."""

    name = "scripted"

    def __init__(self, right=(), mixed=()):
        self.right, self.mixed, self.calls = set(right), set(mixed), []

    def generate(self, chats, params):
        self.calls.append((len(chats), params.seed))
        out = []
        for chat in chats:
            rid = chat[-1]["content"][-1]["text"].split("#")[-1].split("\n")[0]
            texts = ["\\boxed{A}"] * params.n if rid in self.right else ["\\boxed{B}"] * params.n
            if rid in self.mixed:
                texts = ["\\boxed{A}", "\\boxed{B}"] * (params.n // 2)
            out.append([Completion(text=t, token_ids=[1, 2, 3]) for t in texts])
        return out


def _recs(n):
    recs = make_shape_records(n, seed=0)
    for i, r in enumerate(recs):
        r["answer"] = "A"
        r["problem"] = r["problem"] + f" #{i}"  # the scripted backend reads the index back
    return recs


def test_dynamic_sampling_keeps_informative_and_refills():
    recs = _recs(8)
    backend = ScriptedBackend(right={"0", "1"}, mixed={"2", "3", "4", "5", "6", "7"})
    tcfg = TrainerConfig(prompts_per_step=4, rollouts_per_prompt=2, dynamic_sampling=True, max_refills=3)
    main, refill = PromptSampler(8, 0), PromptSampler(8, 1)
    batch, m, table = collect_rollouts(backend, main, refill, recs, DataConfig(), tcfg, RewardFn(RewardConfig()), step=0, seed=0)
    assert batch.n_groups == 4 and len(batch) == 8
    assert sorted(set(batch.group_ids)) == [0, 1, 2, 3]
    assert table.owner == [0, 0, 0, 0] and table.lengths == [[3, 3]] * 4  # one process owns every group
    for g in range(4):  # every kept group has unequal rewards
        rs = [r for r, gg in zip(batch.rewards, batch.group_ids) if gg == g]
        assert max(rs) > min(rs)
    assert main.cursor == 4  # the first round always takes exactly prompts_per_step from the main stream
    assert m["batch/rounds"] == len(backend.calls) and refill.cursor == 4 * (m["batch/rounds"] - 1)
    assert [s for _, s in backend.calls] == [sampling_seed(0, 0, a) for a in range(len(backend.calls))]


def test_dynamic_sampling_gives_up_after_max_refills():
    recs = _recs(4)
    backend = ScriptedBackend(right={"0", "1", "2", "3"})
    tcfg = TrainerConfig(prompts_per_step=2, rollouts_per_prompt=2, dynamic_sampling=True, max_refills=2)
    batch, m, _ = collect_rollouts(backend, PromptSampler(4, 0), PromptSampler(4, 1), recs, DataConfig(), tcfg, RewardFn(RewardConfig()), 0, 0)
    assert len(batch) == 0 and m["batch/rounds"] == 3 and m["batch/dropped_groups"] == 6
    assert m["reward/mean"] == 1.0  # rollout metrics describe the first round, before filtering


def test_informative_by_hand():
    assert [informative(r) for r in ([1, 1], [0, 1], [0, 0], [0.5, 0.5 + 1e-12], [0.2, 0.7, 0.2])] == [
        False, True, False, False, True]


# ------------------------------------------------------------------ config


def test_config_rejects_unknown_keys_and_bad_vgpo_batches(tmp_path):
    from conftest import make_cfg
    from hydra.errors import ConfigCompositionException
    from omegaconf.errors import OmegaConfBaseException

    from mmreason.train.config import load_config

    with pytest.raises(OmegaConfBaseException, match="Key 'stpes' not in 'TrainerConfig'"):
        load_config({"trainer": {"stpes": 3}})
    with pytest.raises(ConfigCompositionException, match="trainer.stpes") as e:
        make_cfg(tmp_path, "trainer.stpes=3")
    assert "Key 'stpes' not in 'TrainerConfig'" in str(e.value.__cause__)
    with pytest.raises(ValueError, match="multiples of rollouts_per_prompt"):
        make_cfg(tmp_path, "algorithm=vgpo", "trainer.micro_batch_size=6")
    make_cfg(tmp_path, "algorithm=vgpo", "trainer.micro_batch_size=6", "algorithm.vgpo.inter=false")
    with pytest.raises(ValueError, match="kappa"):
        make_cfg(tmp_path, "algorithm=vgpo", "algorithm.vgpo.kappa=2.0")


def test_algorithm_presets_match_the_papers():
    from conftest import make_cfg

    from mmreason.train.losses import clip_range

    v = make_cfg("/tmp/x", "algorithm=vgpo")
    a = v.algorithm
    assert (a.loss, clip_range(a.loss, a.clip_low, a.clip_high), a.dual_clip, a.loss_agg, a.kl_coef) == (
        "clip_higher", (0.2, 0.28), 3.0, "token-mean", 0.0)
    assert v.trainer.dynamic_sampling is True and a.token_weights == "vgpo"
    vc = a.vgpo
    assert (vc.beta, vc.gamma, vc.kappa, vc.psi_min, vc.psi_max, vc.alpha_min, vc.alpha_max) == (0.3, 0.5, 0.2, 0.1, 2.0, 0.9, 2.0)
    g = make_cfg("/tmp/x", "algorithm=grpo").algorithm
    assert (g.advantage, clip_range(g.loss, g.clip_low, g.clip_high), g.token_weights) == ("grpo", (0.2, 0.2), "none")
    assert make_cfg("/tmp/x", "algorithm=grpo").trainer.dynamic_sampling is False
    d = make_cfg("/tmp/x", "algorithm=dapo")
    assert (clip_range(d.algorithm.loss), d.algorithm.dual_clip, d.trainer.dynamic_sampling) == ((0.2, 0.28), None, True)
    s = make_cfg("/tmp/x", "algorithm=sft")
    assert (s.trainer.lr, s.trainer.steps, s.algorithm.batch_size) == (1e-3, 300, 16)


def test_each_loss_owns_its_clip_range_unless_the_user_sets_one():
    """GSPO's ranges are 3e-4 / 4e-4 (its paper), whatever preset it is combined with; a set value wins."""
    from conftest import make_cfg

    from mmreason.train.losses import clip_range

    for preset in ("grpo", "dapo", "vgpo"):
        a = make_cfg("/tmp/x", f"algorithm={preset}", "algorithm.loss=gspo").algorithm
        assert clip_range(a.loss, a.clip_low, a.clip_high) == (3e-4, 4e-4), preset
    a = make_cfg("/tmp/x", "algorithm=vgpo", "algorithm.loss=gspo", "algorithm.clip_high=1e-3").algorithm
    assert clip_range(a.loss, a.clip_low, a.clip_high) == (3e-4, 1e-3)
    a = make_cfg("/tmp/x", "algorithm=grpo", "algorithm.clip_low=0.1", "algorithm.clip_high=0.5").algorithm
    assert clip_range(a.loss, a.clip_low, a.clip_high) == (0.1, 0.1)  # PPO's range is symmetric
    with pytest.raises(ValueError, match="clip_low < 1"):
        make_cfg("/tmp/x", "algorithm.clip_low=1.5")


def test_the_rollout_engine_is_generation_alone():
    """`generation` alone picks the engine: vllm composes (its weights are pushed after every update, trainer.py),
    a server backend cannot be a rollout engine and fails when the config is composed."""
    from conftest import make_cfg

    assert make_cfg("/tmp/x", "generation=vllm").generation.backend == "vllm"
    with pytest.raises(ValueError, match=r"generation.backend='openai': unknown rollout engine; choose one of \['hf', 'vllm'\]"):
        make_cfg("/tmp/x", "generation=openai")
    assert make_cfg("/tmp/x", "algorithm=sft", "generation=openai").generation.backend == "openai"  # SFT generates with hf
