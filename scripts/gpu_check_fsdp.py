"""One bf16-mixed FSDP2 training step of a Qwen2.5-VL-3B-shaped model with random weights, on the GPUs of this node:
tokens/s and peak memory per rank (scripts/gpu_check_fsdp.sh launches it with torchrun; no download, no data).

The model is built from a config with Qwen2.5-VL-3B-Instruct's shapes (36 decoder layers, hidden 2048, 16 heads,
2 KV heads, intermediate 11008, vocabulary 151936; vision: 32 blocks, hidden 1280), wrapped exactly as training
wraps it (`mmreason.train.parallel.build_policy`: fully_shard per decoder layer and vision block, MixedPrecisionPolicy
bf16 params / fp32 reduce, float32 masters and AdamW), and run through the training forward (`policy_outputs`:
the LM head over the response positions, float32 log-probs) on random token ids and one random 448x448 image per
sample.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.distributed as dist


def qwen25_vl_3b_config(smoke: bool = False):
    """Qwen2.5-VL-3B-Instruct's shapes (its config.json); `smoke`: 2 layers of each, narrower (a CPU check of this script)."""
    from transformers import Qwen2_5_VLConfig

    layers, hidden, inter, heads, vdepth, vhidden = (2, 128, 256, 4, 2, 64) if smoke else (36, 2048, 11008, 16, 32, 1280)
    return Qwen2_5_VLConfig(
        text_config=dict(
            hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers, num_attention_heads=heads,
            num_key_value_heads=2, vocab_size=151936, max_position_embeddings=128000, tie_word_embeddings=True,
            rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                             "mrope_section": [4, 6, 6] if smoke else [16, 24, 24]},
        ),
        vision_config=dict(depth=vdepth, hidden_size=vhidden, intermediate_size=3420 if not smoke else 128, num_heads=16 if not smoke else 2,
                           out_hidden_size=hidden, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
                           window_size=112, fullatt_block_indexes=[7, 15, 23, 31] if not smoke else [1]),
        image_token_id=151655, vision_start_token_id=151652, vision_end_token_id=151653, tie_word_embeddings=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=4, help="samples per rank")
    ap.add_argument("--prompt", type=int, default=1024, help="text tokens per prompt (the image adds 256)")
    ap.add_argument("--response", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    ap.add_argument("--checkpointing", action="store_true", help="gradient checkpointing")
    ap.add_argument("--smoke", action="store_true", help="a 2-layer model on the CPU (gloo): checks this script, not speed")
    args = ap.parse_args()

    from transformers import Qwen2_5_VLForConditionalGeneration

    from mmreason.train.parallel import Policy, PolicyForward, shard_model

    cuda = torch.cuda.is_available() and not args.smoke
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if cuda else "gloo")  # FSDP2 needs a process group, even on one GPU
    rank, world = dist.get_rank(), dist.get_world_size()
    dev = torch.device("cuda", local) if cuda else torch.device("cpu")
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(qwen25_vl_3b_config(args.smoke)).float()  # float32 masters, on the CPU
    model.config._attn_implementation = "sdpa"
    model.train()
    if args.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    fwd = PolicyForward(model, guard_vision=True)
    shard_model(fwd, model, torch.bfloat16)  # what build_policy does under trainer.strategy=fsdp, precision bf16-mixed
    policy = Policy(model, fwd, "fsdp")
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-6)
    merge, patch = 2, 14
    grid = 448 // patch  # 32 × 32 patches -> 256 image tokens after the 2×2 merge
    n_img = grid * grid // (merge * merge)
    dim = 3 * 2 * patch * patch
    B, P, R = args.batch, args.prompt, args.response
    if args.smoke:
        B, P, R = 2, 32, 16
    ids = torch.randint(0, 150000, (B, P + n_img + R), device=dev)
    ids[:, 1 : 1 + n_img] = 151655  # the image placeholders
    batch = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "pixel_values": torch.randn(B * grid * grid, dim, device=dev),
        "image_grid_thw": torch.tensor([[1, grid, grid]] * B, device=dev),
        "response_mask": torch.ones(B, R, device=dev, dtype=torch.long),
    }
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(args.steps + 1):
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out = policy(batch, hidden=False)
        (-out["logp"].mean()).backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        sync()
        if step:
            times.append(time.perf_counter() - t0)
    tokens = B * ids.shape[1] * world
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    n = sum(p.numel() for p in model.parameters()) / 1e9
    if rank == 0:
        where = torch.cuda.get_device_name() if cuda else "CPU, smoke"
        print(f"Qwen2.5-VL-3B-shaped ({n:.2f} B params), bf16-mixed FSDP2 on {world} process(es) ({where}), "
              f"{B} samples/rank × {ids.shape[1]} tokens, gradient checkpointing {args.checkpointing}:")
        print(f"  step {sum(times) / len(times):.3f} s, {tokens / (sum(times) / len(times)):.0f} tokens/s, "
              f"peak memory rank 0 {peak:.1f} GiB; loss {float(-out['logp'].detach().mean()):.3f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
