"""Token weightings (`algorithm.token_weights`): per-rollout advantages Â_i -> per-token advantages Â_{i,t}.

Registry `TOKEN_WEIGHTS` (mmreason.core.registry): `fn(adv [B], mask [B, R], group_ids [B], focus, cfg)
-> (adv_tok [B, R], metrics)`, where `cfg` is the `algorithm` config and `focus` is the normalised visual
focus ρ `[B, R]` (`mmreason.core.focus.visual_focus`) from the update's own forward, computed only for a
weighting that sets `needs_focus=True` (else None). Any RL preset combines with any weighting:
`algorithm=grpo algorithm.token_weights=vgpo`.

- `none`: Â_{i,t} = Â_i (GRPO, DAPO).
- `vgpo`: Â_{i,t} = Â_i·α_i·ψ_{i,t} (VGPO, arXiv 2604.09349 Eq. 8 and 11; vgpo.py, settings `algorithm.vgpo`).
"""

from __future__ import annotations

import torch

from mmreason.core.registry import Registry

from .vgpo import vgpo_advantages, vgpo_weights

TOKEN_WEIGHTS = Registry("token weighting", key="algorithm.token_weights")
register_token_weights = TOKEN_WEIGHTS.register


@register_token_weights("none", needs_focus=False)
def no_token_weights(adv: torch.Tensor, mask: torch.Tensor, group_ids, focus, cfg) -> tuple[torch.Tensor, dict]:
    """Every token of a rollout gets the rollout's advantage."""
    return adv[:, None].expand_as(mask), {}


@register_token_weights("vgpo", needs_focus=True)
def vgpo_token_weights(adv: torch.Tensor, mask: torch.Tensor, group_ids, focus, cfg) -> tuple[torch.Tensor, dict]:
    """Â_{i,t} = Â_i·α_i·ψ_{i,t} from the visual focus; metrics `vgpo/*` (vgpo_weights' diagnostics)."""
    psi, alpha, diag = vgpo_weights(focus, mask, group_ids, cfg.vgpo)
    return vgpo_advantages(adv, psi, alpha, mask), {f"vgpo/{k}": v for k, v in diag.items()}
