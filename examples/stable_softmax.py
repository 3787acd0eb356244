"""Softmax and cross-entropy at huge logits: the naive way overflows, the stable way not.

Slide "Softmax vs. CE loss – numerical stability issues": softmax(g) = softmax(g − g′) with
g′ = max_j g_j, and log softmax_i(g) = g_i − g′ − log Σ_j exp(g_j − g′) (log-sum-exp). That is
why cross-entropy is computed from the logits in one fused op rather than as
softmax → log → NLL.

Run it:  python examples/stable_softmax.py
"""

from __future__ import annotations

import numpy as np

import microgradlin as mg
from microgradlin import functional as F


def main():
    logits = mg.tensor([[1e4, -1e4, 0.0]], requires_grad=True)  # three classes
    target = np.array([1])  # the true class has the *smallest* logit
    with np.errstate(all="ignore"):
        e = mg.exp(logits.detach())
        naive = (e / e.sum(axis=1, keepdims=True)).numpy()
        composed = F.cross_entropy_composed(logits.detach(), target).item()
    print(f"logits {logits.numpy().tolist()}")
    print(f"naive softmax exp(g)/Σexp(g):        {naive.tolist()}   (exp(1e4) = inf)")
    print(f"stable softmax F.softmax:            {F.softmax(logits.detach()).numpy().tolist()}")
    print(f"softmax -> log -> NLL (composed):    {composed}   (softmax underflows to 0)")
    loss = F.cross_entropy(logits, target)
    loss.backward()
    print(f"fused F.cross_entropy (log-sum-exp): {loss.item()}   (= 1e4 - (-1e4), exact)")
    print(f"its gradient (softmax - onehot)/N:   {logits.grad.numpy().tolist()}")
    lse = mg.logsumexp(logits.detach(), axis=1).item()
    print(f"log-sum-exp: g' + log Σ exp(g - g') = {lse}")
    assert np.isnan(naive).any() and not np.isfinite(composed)
    assert loss.item() == 2e4 and np.isfinite(logits.grad.numpy()).all()


if __name__ == "__main__":
    main()
