"""Compiled tree ensembles: how a trained model scores inside the hot path.

A model is flattened into four arrays (the *compiled form*) so the kernel can score it per
event without leaving machine code:

* ``feats``  int64[F]: the signal index of each model feature;
* ``nodes``  float64[N, 5]: ``(feature, threshold, left, right, default_left)``; a leaf has
  feature ``-1`` and its value in ``threshold``;
* ``roots``  int64[T]: first node of each tree;
* ``calib``  float64[K, 2]: increasing ``(raw score, probability)`` points; the raw sum of
  the trees is mapped to a calibrated probability by linear interpolation.

An empty model (``feats`` of length 0) means "no model": the kernel leaves its signal
unknown. Training, saving and loading live in :mod:`seawall.training`.

>>> import numpy as np
>>> nodes = np.array([[0, 5.0, 1, 2, 1], [-1, -1.0, 0, 0, 0], [-1, 1.0, 0, 0, 0]])
>>> m = (np.array([3]), nodes, np.array([0]), np.array([[-1.0, 0.1], [1.0, 0.9]]))
>>> sig = np.zeros(8); sig[3] = 7.0
>>> round(score_model(m, sig), 3)          # 7 > 5: right leaf, raw 1.0 -> 0.9
0.9
>>> sig[3] = np.nan                        # unknown goes the default way (left): raw -1
>>> round(score_model(m, sig), 3)
0.1
"""

from __future__ import annotations

import numpy as np
from numba import njit


def empty_model() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The compiled form of "no model"."""
    return (np.zeros(0, np.int64), np.zeros((0, 5), np.float64), np.zeros(0, np.int64),
            np.zeros((0, 2), np.float64))


@njit(cache=True)
def raw_score(model, sig):
    """Sum of the trees' leaf values for the signal vector ``sig``."""
    feats, nodes, roots, _ = model
    total = 0.0
    for r in range(roots.shape[0]):
        n = roots[r]
        while nodes[n, 0] >= 0:
            x = sig[feats[int(nodes[n, 0])]]
            if x != x:
                go_left = nodes[n, 4] > 0.5
            else:
                go_left = x <= nodes[n, 1]
            n = int(nodes[n, 2]) if go_left else int(nodes[n, 3])
        total += nodes[n, 1]
    return total


@njit(cache=True)
def calibrate(calib, raw):
    """Piecewise-linear map from raw score to probability (clamped at the ends)."""
    k = calib.shape[0]
    if raw <= calib[0, 0]:
        return calib[0, 1]
    if raw >= calib[k - 1, 0]:
        return calib[k - 1, 1]
    lo = 0
    hi = k - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if calib[mid, 0] <= raw:
            lo = mid
        else:
            hi = mid
    x0 = calib[lo, 0]
    x1 = calib[hi, 0]
    w = (raw - x0) / (x1 - x0) if x1 > x0 else 0.0
    return calib[lo, 1] + w * (calib[hi, 1] - calib[lo, 1])


@njit(cache=True)
def score_model(model, sig):
    """Calibrated probability for ``sig`` (the full signal vector)."""
    return calibrate(model[3], raw_score(model, sig))
