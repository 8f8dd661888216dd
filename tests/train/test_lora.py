"""LoRA (PEFT): adapters on the language model only (vision tower excluded by default), checkpoints with the adapters,
`python -m mmreason.train.merge_lora` writing a full model whose logits are the adapter model's. The learning test
(LoRA VGPO beats its lr-0 control) is in test_learning.py; LoRA under FSDP in test_distributed.py."""

import pytest
import torch
from conftest import make_cfg

from mmreason.core.config import ModelConfig
from mmreason.core.models import append_responses, build_batch, load_policy
from mmreason.core.toy import make_shape_records
from mmreason.train.lora import LoraConfig, apply_lora, lora_targets, quiet_peft
from mmreason.train.trainer import train


def test_only_language_model_adapters_train():
    """Tiny model: 2 decoder layers × 7 linear layers (q, k, v, o, gate, up, down) × (A, B) = 28 tensors."""
    model, _ = load_policy(ModelConfig())
    peft_model = apply_lora(model, LoraConfig(rank=4))
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert len(trainable) == 2 * 7 * 2
    assert all(".lora_A." in n or ".lora_B." in n for n in trainable)
    assert not any("visual" in n for n in trainable)
    assert not any("lm_head" in n or "embed" in n for n in trainable)


def test_vision_adapters_only_when_asked():
    model, _ = load_policy(ModelConfig())
    names = lora_targets(model, LoraConfig(rank=4, vision=True))
    vision = [n for n in names if ".visual." in f".{n}"]
    assert vision and len(names) - len(vision) == 2 * 7
    with pytest.raises(ValueError, match="target_modules"):
        lora_targets(model, LoraConfig(rank=4, target_modules=["no_such_proj"]))


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    """2 SFT steps of LoRA (lr high enough that the adapters move), checkpoints at both steps."""
    out = tmp_path_factory.mktemp("lora")
    train(make_cfg(out, "algorithm=sft", "lora.rank=4", "trainer.steps=2", "trainer.save_every=1", "trainer.save_limit=0",
                   "trainer.lr=1e-2", "algorithm.batch_size=4", "trainer.micro_batch_size=4", "trainer.eval_size=0"))
    return out


def test_lora_checkpoints_hold_the_adapters_and_the_final_one_the_merged_model(lora_run):
    step1, step2 = (lora_run / "checkpoints" / f"step_{s:06d}" for s in (1, 2))
    assert (step1 / "adapter" / "adapter_config.json").exists() and not (step1 / "model").exists()
    assert (step2 / "adapter" / "adapter_config.json").exists() and (step2 / "model" / "config.json").exists()


def _logits(model, processor):
    recs = make_shape_records(3, 5)
    from mmreason.core.chat import record_to_chat

    batch = build_batch(processor, [record_to_chat(r) for r in recs])
    tok = processor.tokenizer.encode("\\boxed{A}", add_special_tokens=False)
    full = append_responses(batch, [tok] * 3, processor.tokenizer.pad_token_id)
    full.pop("response_mask")
    with torch.no_grad():
        return model(**full).logits.float()


def test_merge_lora_logits_equal_the_adapter_model(lora_run, tmp_path):
    from peft import PeftModel

    ckpt = lora_run / "checkpoints" / "step_000001"
    out = tmp_path / "merged"
    from mmreason.train.merge_lora import main

    assert main([str(ckpt), str(out)]) == 0  # the CLI's entry (`python -m mmreason.train.merge_lora CKPT OUT`)
    base, processor = load_policy(ModelConfig())
    with quiet_peft():
        adapter = PeftModel.from_pretrained(base, str(ckpt / "adapter")).eval()
    merged, _ = load_policy(ModelConfig(path=str(out)))
    a, m = _logits(adapter, processor), _logits(merged, processor)
    assert float((a - m).abs().max()) <= 1e-5
    plain, _ = load_policy(ModelConfig())
    assert float((_logits(plain, processor) - m).abs().max()) > 1e-3  # the adapters changed the model


def test_bf16_mixed_lora_keeps_the_frozen_base_in_bf16_and_the_adapters_in_float32(tmp_path, monkeypatch):
    from mmreason.train import runtime

    seen = {}
    real = runtime.build_policy

    def capture(model, *a, **k):
        seen["policy"] = real(model, *a, **k)
        return seen["policy"]

    monkeypatch.setattr(runtime, "build_policy", capture)
    train(make_cfg(tmp_path, "algorithm=sft", "lora.rank=4", "trainer.precision=bf16-mixed", "trainer.steps=1", "trainer.eval_size=0",
                   "algorithm.batch_size=2", "trainer.micro_batch_size=2"))
    hf = seen["policy"].hf
    dtypes = {p.requires_grad: {q.dtype for q in hf.parameters() if q.requires_grad == p.requires_grad} for p in hf.parameters()}
    assert dtypes == {True: {torch.float32}, False: {torch.bfloat16}}
    assert (tmp_path / "checkpoints" / "step_000001" / "model" / "config.json").exists()


def test_merge_lora_refuses_a_full_weight_checkpoint(tmp_path):
    from mmreason.train.merge_lora import merge_lora

    (tmp_path / "ckpt").mkdir()
    with pytest.raises(FileNotFoundError, match="adapter"):
        merge_lora(tmp_path / "ckpt", tmp_path / "out")


def test_lora_kl_reference_is_the_adapter_disabled_base(tmp_path):
    """With LoRA the KL reference is the policy with its adapters disabled (no second copy): its log-probs are the
    base model's, while the policy's own differ once the adapters are non-zero."""
    from mmreason.core.chat import record_to_chat
    from mmreason.train.parallel import Dist, as_policy, build_policy
    from mmreason.train.precision import Precision
    from mmreason.train.trainer import reference_logprobs

    model, processor = load_policy(ModelConfig())
    plain, _ = load_policy(ModelConfig())
    policy = build_policy(model, make_cfg(tmp_path, "lora.rank=4"), Dist(), Precision())
    with torch.no_grad():
        for name, p in policy.hf.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.5)  # PEFT starts B at 0 (no change): make the adapters matter
    batch = build_batch(processor, [record_to_chat(r) for r in make_shape_records(2, 3)])
    tok = processor.tokenizer.encode("\\boxed{red}", add_special_tokens=False)
    tf = append_responses(batch, [tok, tok[:2]], processor.tokenizer.pad_token_id)
    ref = reference_logprobs(policy, None, tf, 1.0, [])
    with torch.no_grad():
        base, adapted = as_policy(plain)(tf)["logp"], policy(tf)["logp"]
    assert float((ref - base).abs().max()) <= 1e-6
    assert float((adapted - base).abs().max()) > 1e-3
    with torch.no_grad():
        assert torch.equal(policy(tf)["logp"], adapted)  # the adapters are back on after the reference pass
