"""mmreason.train: RL and SFT training for multimodal reasoning (GRPO/DAPO, VGPO).

The math lives in pure functions on tensors, testable without a model:
`advantages` (group advantage estimators: grpo, drgrpo, rloo), `losses` (PPO/DAPO/GSPO policy losses,
loss aggregation, KL penalties, entropy) and `vgpo` (Visually-Guided Policy Optimization token and
trajectory weights, arXiv 2604.09349). Data, rollout, rewards and the trainer build on them.
"""
