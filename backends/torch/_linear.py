"""Closed-form weighted linear surrogate for LIME and Kernel SHAP (torch only, no sklearn)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch.utils.data import DataLoader


class WeightedLeastSquares:
    """Weighted linear regression with an intercept and an optional ridge penalty.

    Implements the interface Captum's ``Lime`` expects from an interpretable
    model (``fit(dataloader)``, ``representation()``, ``__call__``). Solved in
    float64 in closed form, so the result is deterministic and needs no
    scikit-learn. ``alpha = 0`` is ordinary weighted least squares (Kernel
    SHAP); ``alpha > 0`` is ridge regression (LIME's reference surrogate).
    """

    def __init__(self, alpha: float = 0.0):
        self.alpha = float(alpha)
        self.weight: Optional[Tensor] = None
        self.bias: Optional[Tensor] = None

    def fit(self, train_data: DataLoader, **kwargs: object) -> None:
        """Fit on ``(x (N, F), y (N,), w (N,))`` batches."""
        xs, ys, ws = zip(*(batch if len(batch) == 3 else (*batch, None) for batch in train_data))
        x = torch.cat(xs).double()
        y = torch.cat(ys).double().reshape(-1)
        w = torch.ones_like(y) if ws[0] is None else torch.cat(ws).double().reshape(-1)
        x_mean = (w @ x) / w.sum()
        y_mean = (w @ y) / w.sum()
        sqrt_w = w.sqrt()
        a = sqrt_w.unsqueeze(1) * (x - x_mean)
        b = sqrt_w * (y - y_mean)
        if self.alpha > 0:
            gram = a.T @ a + self.alpha * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
            coef = torch.linalg.solve(gram, a.T @ b)
        else:
            coef = torch.linalg.lstsq(a.cpu(), b.cpu().unsqueeze(1), driver="gelsd").solution.squeeze(1).to(x.device)
        self.weight = coef.float().unsqueeze(0)
        self.bias = (y_mean - x_mean @ coef).float().reshape(1)

    def representation(self) -> Tensor:
        """The coefficients, shape ``(1, F)``."""
        if self.weight is None:
            raise RuntimeError("fit() must be called before representation()")
        return self.weight

    def __call__(self, x: Tensor) -> Tensor:
        return x.float() @ self.weight.T + self.bias
