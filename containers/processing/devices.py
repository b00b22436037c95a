"""Where the optional models run: the GPU of a SageMaker ml.g* instance when there is one, else the CPU."""

from __future__ import annotations


def best_device() -> str:
    """'cuda' when torch sees a GPU, else 'cpu' (torch is imported here, only by the model paths)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
