"""``microgradlin.optim``: how the gradient is used.

- :class:`SGD` (with momentum, Nesterov, weight decay) and :class:`Adam`, as in PyTorch;
- :class:`ProjectedGD` and :class:`ProximalGD` for constraints and non-smooth penalties,
  with the projections (ℓ2 ball, box, orthant, simplex) and proxes (ℓ1, ℓ2) they use;
- step-size schedules (:mod:`microgradlin.optim.schedules`) and :class:`LRScheduler`.

*Which* gradient is used (whole set, one sample, a minibatch) is the data's business:
see :mod:`microgradlin.data` and :func:`microgradlin.fit`.
"""

from .constrained import (
    ProjectedGD,
    ProximalGD,
    project_box,
    project_l2_ball,
    project_nonnegative,
    project_simplex,
    prox_l1,
    prox_l2,
)
from .optimizers import SGD, Adam, Optimizer
from .schedules import (
    Constant,
    Cosine,
    Exponential,
    InverseTime,
    LRScheduler,
    Schedule,
    StepDecay,
)

__all__ = [
    "Optimizer", "SGD", "Adam", "ProjectedGD", "ProximalGD",
    "project_l2_ball", "project_box", "project_nonnegative", "project_simplex",
    "prox_l1", "prox_l2",
    "Schedule", "Constant", "InverseTime", "StepDecay", "Exponential", "Cosine", "LRScheduler",
]
