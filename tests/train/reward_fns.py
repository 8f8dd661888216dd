"""User reward functions for the tests (`reward.functions=[{fn: "reward_fns:...", weight: ...}]`)."""


def length_parity(response: str, record: dict) -> float:
    """1 for an even number of characters: gives an untrained model's groups unequal rewards."""
    return float(len(response) % 2 == 0)
