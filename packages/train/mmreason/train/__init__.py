"""mmreason.train: RL and SFT training for multimodal reasoning (GRPO/DAPO, VGPO).

The math lives in pure functions on tensors, testable without a model, each kind in a registry that a
config value names (or a "package.module:function" of user code): `advantages` (group advantage estimators:
grpo, drgrpo, rloo), `losses` (policy losses clip / clip_higher / gspo, loss aggregations, KL estimators,
entropy), `token_weights` (none, vgpo: Visually-Guided Policy Optimization token and trajectory weights from
`vgpo`, arXiv 2604.09349) and `rewards`. `config` types every key; `runtime` sets a run up and `loop` runs
the steps that `trainer` (RL) and `sft` define. Data and rollouts build on them. `parallel` (torchrun: FSDP2 / DDP,
weights gathered for rollout engines), `precision` (float32 masters, bf16/fp16 compute), `lora` (PEFT adapters,
`merge_lora`) and `checkpoint` (DCP, resumable on any number of processes) make it scale.
"""
