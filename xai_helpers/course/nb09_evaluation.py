"""Notebook 09 · Evaluating explanations: the coding exercise's checker."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, as_tensor, check_shape, passed

__all__ = ["check_pointing_game"]


def check_pointing_game(my_pointing_game: Callable) -> None:
    """Notebook 09: the pointing game for maps and bool masks (N, H, W)."""
    from ..evaluation.metrics import pointing_game

    maps = torch.rand(6, 16, 16, generator=torch.Generator().manual_seed(0))
    masks = torch.zeros(6, 16, 16, dtype=torch.bool)
    masks[:3, 2:6, 8:15] = True                     # a wide box: rows 2-5, columns 8-14
    maps[:2, 3, 10] = 2.0                           # inside it; (10, 3) lies outside
    maps[3, 10, 3] = 2.0                            # outside; transposed (3, 10) lies inside
    masks[3] = masks[0]
    mine = as_tensor(my_pointing_game(maps, masks), "pointing game")
    check_shape(mine, (6,), "answer (one per image)")
    if mine.dtype != torch.bool:
        raise ExerciseError("Return True / False per image: a bool tensor.")
    expected = pointing_game(maps, masks)
    if torch.equal(mine, expected):
        return passed()
    if torch.equal(mine, pointing_game(-maps, masks)):
        raise ExerciseError("You looked at the minimum; the game asks where the *maximum* is.")
    if torch.equal(mine, masks.flatten(1).any(1)):
        raise ExerciseError("You checked whether the mask has any pixel; check the mask at the "
                            "map's maximum.")
    if torch.equal(mine, pointing_game(maps.transpose(1, 2), masks)):
        raise ExerciseError("Rows and columns are swapped: a flat index i of an (H, W) map is "
                            "row i // W and column i % W (or look the flat index up in the "
                            "flattened mask).")
    raise ExerciseError("Find the position of each map's maximum (over H × W) and look it up in "
                        "that image's mask.")
