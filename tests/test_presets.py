"""Real-hardware presets compose and carry the paper's hyperparameters (VGPO, arXiv 2604.09349 §4.1 and the
official train_vgpo_7B.sh, as summarised in shared/PAPERS.md)."""

from mmreason.core.config import compose
from mmreason.train.config import load_config


def test_vgpo_qwen2_5_vl_7b_preset_composes_with_the_papers_hyperparameters():
    cfg = load_config(compose("train", ["+preset=vgpo_qwen2_5_vl_7b", "model.path=/ckpt/Qwen2.5-VL-7B-Instruct",
                                        "data.path=/data/virl39k.parquet"]))
    t, a = cfg.trainer, cfg.algorithm
    assert (cfg.model.name, cfg.model.dtype, cfg.model.path) == ("qwen2_5_vl_7b", "bfloat16", "/ckpt/Qwen2.5-VL-7B-Instruct")
    assert cfg.generation.backend == "vllm" and cfg.generation.max_model_len >= t.max_prompt_length + t.max_new_tokens
    assert (t.prompts_per_step, t.rollouts_per_prompt, t.mini_batch_size, t.ppo_epochs) == (512, 8, 128 * 8, 2)
    assert (t.lr, t.lr_schedule, t.weight_decay, t.grad_clip) == (1e-6, "constant", 0.01, 1.0)
    assert (t.temperature, t.top_p, t.max_new_tokens, t.max_prompt_length) == (1.0, 0.99, 2048, 4096)
    assert t.dynamic_sampling and a.kl_coef == 0.0 and (cfg.reward.accuracy, cfg.reward.format) == (1.0, 0.0)
    assert (a.name, a.token_weights, a.loss, a.dual_clip) == ("vgpo", "vgpo", "clip_higher", 3.0)
    assert (a.vgpo.beta, a.vgpo.kappa, a.vgpo.gamma) == (0.3, 0.2, 0.5)
    assert "<think>" in cfg.data.prompt_template and "\\boxed{}" in cfg.data.prompt_template.format(problem="")


def test_the_preset_composes_inside_the_pipeline(tmp_path):
    """As the RL stage of a pipeline run (its data = the synth dataset, its start = the SFT checkpoint)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from mmreason.core.config import conf_dir
    from mmreason.pipeline.__main__ import StageConfigs

    state = {"synth": {"dataset": "/data/synth/hf"}, "sft": {"model": "/runs/sft/model"}}
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = hydra_compose("pipeline", ["overrides.rl=['+preset=vgpo_qwen2_5_vl_7b']"])
        (rl,) = StageConfigs(cfg, tmp_path)("rl", state).values()
    rl = load_config(rl)
    assert rl.model.path == "/runs/sft/model" and rl.data.path == "/data/synth/hf"
    assert (rl.trainer.prompts_per_step, rl.trainer.lr, rl.generation.backend) == (512, 1e-6, "vllm")
