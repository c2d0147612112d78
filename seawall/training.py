"""Learned detection: train, calibrate, explain, save and load Seawall's tree models.

Two gradient-boosted tree ensembles (LightGBM, Ke et al., NeurIPS 2017) are trained on the
platform's own labels from the engine's own signals, so a model reads exactly what rules read:

* the **registration model** scores a sign-up from what is known at that instant (the recent
  registrations and abuse history of its number block, network and device, its client and
  verification); its examples are the registration events;
* the **behaviour model** scores every later evaluation from everything known so far
  (sending pattern, the responses of the people contacted, reports, sessions); its examples
  are sampled evaluations of each account (see :class:`ExampleRecorder`).

Raw tree scores are mapped to probabilities by isotonic regression on a later, held-out
period (Zadrozny & Elkan, KDD 2002), and the thresholds of each action are chosen on that
period for target false-positive rates counted per account. Each decision a model drives is
explained by the signals that pushed its score up most, from the path each tree took
(Saabas' per-decision contributions, as in ``treeinterpreter``).

A model file is versioned JSON recording the signal schema, the training data's sha256s,
the validation figures, the thresholds and the compiled trees (:mod:`seawall.models`).
``docs/models.md`` describes the commands and the format.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import orjson
from numba import njit

from seawall import __version__
from seawall import kernel as K
from seawall.models import raw_score
from seawall.signals import NAMES, SIGNALS

FORMAT = "seawall-model"
VERSION = 1
MODEL_NAMES = ("registration", "behaviour")
MODEL_CODES = ("REGISTRATION_MODEL", "BEHAVIOUR_MODEL")
LEVELS = ("review", "challenge", "restrict", "ban")   # policy columns 1..4 (ACTIONS[1:5])
DEFAULT_FPR = {"review": 0.01, "challenge": 0.001, "restrict": 0.001, "ban": 0.0001}
# A model never acts on a probability below these, however clean the validation period was:
# a threshold set just above the highest innocent score of one period would otherwise ban at
# a few percent on the next. The registration model knows little (a sign-up's metadata), so
# it restricts or bans only when nearly sure and otherwise asks for re-verification.
MIN_PROBABILITY = {
    "registration": {"review": 0.2, "challenge": 0.5, "restrict": 0.9, "ban": 0.97},
    "behaviour": {"review": 0.2, "challenge": 0.5, "restrict": 0.7, "ban": 0.9},
}
REG_FEATURES = tuple(s.name for s in SIGNALS if s.family == "registration"
                     and s.name != "account_age") + ("campaign_infrastructure",)
BEH_FEATURES = tuple(n for n in NAMES if n not in ("registration_model", "behaviour_model"))
# Evaluations of an account kept as behaviour examples: these ordinal numbers, plus one per
# hour of event time, capped per account so that heavy senders do not dominate.
KEEP_ORDINALS = frozenset({1, 2, 3, 5, 8, 13, 20, 30, 50, 80, 130, 200, 300, 500, 800, 1300,
                           2000, 3000, 5000, 8000})
SAMPLE_EVERY_MS = 3_600_000
SAMPLE_CAP = 64
LGB_PARAMS = {
    "objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 50,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "deterministic": True, "force_row_wise": True, "num_threads": 1, "verbose": -1,
}
ROUNDS = {"registration": 50, "behaviour": 100}   # few trees: the kernel scores every event
_EPS = 1e-4  # weight of a strictly increasing term that breaks isotonic ties
ISOTONIC_MIN = 100  # fewer abusive or innocent calibration examples: Platt scaling instead


class ModelFileError(ValueError):
    """A model file that cannot be used; the message names the file and the reason."""


# -- the trained trees ------------------------------------------------------------------------

@dataclass
class TreeModel:
    """One compiled ensemble with its calibration, thresholds and validation figures.

    Node arrays follow :mod:`seawall.models` (``feature`` indexes :attr:`features`, ``-1`` for a
    leaf); ``value`` holds each node's expected raw score (LightGBM's ``internal_value``, or
    the leaf value), which per-decision contributions need.
    """

    features: list[str]
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    default_left: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    calib: np.ndarray
    thresholds: dict[str, float | None] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def feats(self) -> np.ndarray:
        return np.array([NAMES.index(f) for f in self.features], np.int64)

    def nodes(self) -> np.ndarray:
        nodes = np.zeros((self.feature.shape[0], 5), np.float64)
        nodes[:, 0] = self.feature
        nodes[:, 1] = self.threshold
        nodes[:, 2] = self.left
        nodes[:, 3] = self.right
        nodes[:, 4] = self.default_left
        return nodes

    def compiled(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (self.feats(), self.nodes(), np.ascontiguousarray(self.roots, np.int64),
                np.ascontiguousarray(self.calib, np.float64))

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (sum of leaves) of full signal vectors ``X`` [n, n_signals]."""
        return _raw_batch(self.feats(), self.nodes(), self.roots,
                          np.ascontiguousarray(X, np.float64))

    def score(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of full signal vectors ``X``."""
        return np.interp(self.raw(X), self.calib[:, 0], self.calib[:, 1])

    def contributions(self, sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature contributions to the raw score of one vector, and for each feature the
        direction that pushed it up most (0 low, 1 high, 2 unknown)."""
        contrib = np.zeros(len(self.features), np.float64)
        by_dir = np.zeros((len(self.features), 3), np.float64)
        _contrib(self.feats(), self.nodes(), self.roots, self.value,
                 np.ascontiguousarray(sig, np.float64), contrib, by_dir)
        return contrib, np.argmax(by_dir, axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "trees": {
                "roots": self.roots.tolist(),
                "feature": self.feature.tolist(),
                "threshold": self.threshold.tolist(),
                "left": self.left.tolist(),
                "right": self.right.tolist(),
                "default_left": self.default_left.tolist(),
                "value": self.value.tolist(),
            },
            "calibration": self.calib.tolist(),
            "thresholds": self.thresholds,
            "metrics": self.metrics,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TreeModel:
        t = d["trees"]
        m = cls(features=list(d["features"]),
                feature=np.array(t["feature"], np.int64),
                threshold=np.array(t["threshold"], np.float64),
                left=np.array(t["left"], np.int64), right=np.array(t["right"], np.int64),
                default_left=np.array(t["default_left"], np.int64),
                value=np.array(t["value"], np.float64), roots=np.array(t["roots"], np.int64),
                calib=np.array(d["calibration"], np.float64).reshape(-1, 2),
                thresholds={k: (None if v is None else float(v))
                            for k, v in d["thresholds"].items()},
                metrics=d.get("metrics", {}))
        _check_trees(m)
        return m


def _check_trees(m: TreeModel) -> None:
    arrays = (m.feature, m.threshold, m.left, m.right, m.default_left, m.value, m.roots)
    if any(a.ndim != 1 for a in arrays) or not all(isinstance(f, str) for f in m.features):
        raise ValueError("tree arrays are not flat lists")
    n = m.feature.shape[0]
    if not (m.threshold.shape[0] == m.left.shape[0] == m.right.shape[0]
            == m.default_left.shape[0] == m.value.shape[0] == n):
        raise ValueError("tree arrays differ in length")
    internal = m.feature >= 0
    at = np.arange(n)[internal]
    # children come after their parent (as compile_booster lays them out): no cycles
    if n and (m.feature.max() >= len(m.features)
              or ((m.left[internal] <= at) | (m.left[internal] >= n)
                  | (m.right[internal] <= at) | (m.right[internal] >= n)).any()):
        raise ValueError("tree node refers outside the model or back up its tree")
    if m.roots.size and (m.roots.min() < 0 or m.roots.max() >= n):
        raise ValueError("tree root outside the model")
    if m.calib.shape[0] < 1 or (np.diff(m.calib[:, 0]) < 0).any():
        raise ValueError("calibration points are not increasing")
    unknown = set(m.thresholds) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown action in thresholds: {sorted(unknown)}")


@njit(cache=True)
def _raw_batch(feats, nodes, roots, X):
    """:func:`seawall.models.raw_score` for every row of ``X`` (signal vectors)."""
    model = (feats, nodes, roots, np.zeros((0, 2)))
    out = np.zeros(X.shape[0])
    for i in range(X.shape[0]):
        out[i] = raw_score(model, X[i])
    return out


@njit(cache=True)
def _contrib(feats, nodes, roots, value, sig, contrib, by_dir):
    """Saabas contributions: each split's change of expected value goes to its feature."""
    for r in range(roots.shape[0]):
        n = roots[r]
        while nodes[n, 0] >= 0:
            f = int(nodes[n, 0])
            x = sig[feats[f]]
            if x != x:
                go_left = nodes[n, 4] > 0.5
                d = 2
            else:
                go_left = x <= nodes[n, 1]
                d = 0 if go_left else 1
            c = int(nodes[n, 2]) if go_left else int(nodes[n, 3])
            delta = value[c] - value[n]
            contrib[f] += delta
            by_dir[f, d] += delta
            n = c


# -- the bundle the engine loads -------------------------------------------------------------

class ModelBundle:
    """A registration and a behaviour model (either may be absent) with their provenance.

    The engine calls :meth:`compiled`, :meth:`policy`, :meth:`reasons` and :meth:`level`.
    """

    def __init__(self, registration: TreeModel | None, behaviour: TreeModel | None,
                 info: dict[str, Any] | None = None,
                 signals: Sequence[str] | None = None) -> None:
        self.models = (registration, behaviour)
        self.info = info or {}
        # the engine's full signal list when the models were trained
        self.signals = list(signals) if signals is not None else list(NAMES)
        self._compiled = None

    @property
    def registration(self) -> TreeModel | None:
        return self.models[0]

    @property
    def behaviour(self) -> TreeModel | None:
        return self.models[1]

    def compiled(self) -> tuple[tuple, tuple]:
        """The compiled form of both models (:func:`seawall.models.empty_model` if absent)."""
        from seawall.models import empty_model

        if self._compiled is None:
            self._compiled = tuple(m.compiled() if m is not None else empty_model()
                                   for m in self.models)
        return self._compiled

    def policy(self) -> np.ndarray:
        """Thresholds [model, level] (levels 1 review .. 4 ban); NaN means never."""
        p = np.full((2, 5), np.nan)
        for i, m in enumerate(self.models):
            if m is None:
                continue
            for j, lvl in enumerate(LEVELS, start=1):
                t = m.thresholds.get(lvl)
                if t is not None:
                    p[i, j] = t
        return p

    def level(self, m: int, score: float) -> int:
        """The enforcement level the policy of model ``m`` gives ``score`` (0: none)."""
        p = self.policy()[m]
        if math.isnan(score):
            return 0
        for lvl in range(4, 0, -1):
            if score >= p[lvl]:
                return lvl
        return 0

    def reasons(self, m: int, sig: np.ndarray, names: Sequence[str] = NAMES,
                top: int = 3) -> list[str]:
        """The model's code, then the ``top`` signals that pushed its score up most, as
        ``HIGH_<SIGNAL>``, ``LOW_<SIGNAL>`` or ``UNKNOWN_<SIGNAL>``."""
        model = self.models[m]
        if model is None:
            return []
        vec = np.full(len(NAMES), np.nan)
        index = {n: i for i, n in enumerate(names)}
        for j, n in enumerate(NAMES):
            if n in index:
                vec[j] = sig[index[n]]
        contrib, direction = model.contributions(vec)
        order = sorted(range(len(contrib)), key=lambda i: (-contrib[i], i))
        out = [MODEL_CODES[m]]
        for i in order[:top]:
            if contrib[i] <= 0:
                break
            out.append(("LOW_", "HIGH_", "UNKNOWN_")[direction[i]] + model.features[i].upper())
        return out

    def score(self, m: int, X: np.ndarray) -> np.ndarray:
        """Calibrated scores of model ``m`` for full signal vectors ``X`` (NaN if absent)."""
        model = self.models[m]
        if model is None:
            return np.full(np.asarray(X).shape[0], np.nan)
        return model.score(X)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "seawall_version": __version__,
            "signals": self.signals,
            **self.info,
            "models": {name: (m.to_dict() if m is not None else None)
                       for name, m in zip(MODEL_NAMES, self.models, strict=True)},
        }

    def save(self, path: str | Path) -> None:
        """Write the model file (JSON, floats written exactly) atomically."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2
                                     | orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
                        + b"\n")
        tmp.replace(path)


def load_model(path: str | Path) -> ModelBundle:
    """Read a model file; a corrupt file, an unknown version or signals this engine does not
    have raise :class:`ModelFileError` (a ``ValueError``) naming the file and the reason."""
    path = Path(path)
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read model file ({exc.strerror})") from None
    except orjson.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: not a Seawall model file (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a Seawall model file (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise ModelFileError(f"{path}: model file version {data.get('version')!r} is not "
                             f"supported (this Seawall reads version {VERSION})")
    models = data.get("models")
    if not isinstance(models, dict):
        raise ModelFileError(f"{path}: corrupt model file (no \"models\")")
    needed: list[str] = []
    for name in MODEL_NAMES:
        m = models.get(name)
        if m is None:
            continue
        features = m.get("features") if isinstance(m, dict) else None
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise ModelFileError(f"{path}: corrupt {name} model (no list of signal names)")
        needed += [f for f in features if f not in NAMES and f not in needed]
    if needed:
        raise ModelFileError(
            f"{path}: the model reads signals this engine does not have: {', '.join(needed)} "
            f"(trained on a different signal schema; retrain it with `seawall train`)")
    built = []
    for name in MODEL_NAMES:
        m = models.get(name)
        try:
            built.append(TreeModel.from_dict(m) if m is not None else None)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError,
                OverflowError) as exc:
            raise ModelFileError(f"{path}: corrupt {name} model ({type(exc).__name__}: "
                                 f"{exc})") from None
    info = {k: v for k, v in data.items() if k not in ("models", "format", "version",
                                                       "seawall_version", "signals")}
    return ModelBundle(built[0], built[1], info, data.get("signals"))


def default_model_path() -> Path:
    """The model shipped with the package (trained by ``scripts/train_default_model.py``)."""
    return Path(__file__).with_name("data") / "default_model.json"


# -- converting LightGBM trees --------------------------------------------------------------

def compile_booster(booster, features: Sequence[str]) -> TreeModel:
    """Flatten a LightGBM booster (``dump_model()``) into the compiled form.

    LightGBM sends a missing value the ``default_left`` way when the split's ``missing_type``
    is ``NaN``, and treats it as 0 when it is ``None``; both are one "default" direction
    here. ``Zero`` missing types and categorical splits are refused (Seawall trains with
    neither).
    """
    dump = booster.dump_model()
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    default_left: list[int] = []
    value: list[float] = []
    roots: list[int] = []

    def add(node: dict) -> int:
        i = len(feature)
        feature.append(-1)
        threshold.append(0.0)
        left.append(0)
        right.append(0)
        default_left.append(0)
        value.append(0.0)
        if "leaf_value" in node:
            threshold[i] = value[i] = float(node["leaf_value"])
            return i
        if node["decision_type"] != "<=":
            raise ValueError(f"unsupported split {node['decision_type']!r}")
        thr = float(node["threshold"])
        mt = node["missing_type"]
        if mt == "NaN":
            dl = bool(node["default_left"])
        elif mt == "None":
            dl = 0.0 <= thr
        else:
            raise ValueError(f"unsupported missing type {mt!r}")
        feature[i] = int(node["split_feature"])
        threshold[i] = thr
        default_left[i] = int(dl)
        value[i] = float(node["internal_value"])
        left[i] = add(node["left_child"])
        right[i] = add(node["right_child"])
        return i

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"]))
    return TreeModel(features=list(features), feature=np.array(feature, np.int64),
                     threshold=np.array(threshold, np.float64), left=np.array(left, np.int64),
                     right=np.array(right, np.int64),
                     default_left=np.array(default_left, np.int64),
                     value=np.array(value, np.float64), roots=np.array(roots, np.int64),
                     calib=np.array([[-1.0, 0.0], [1.0, 1.0]]))


def _raw_range(m: TreeModel) -> tuple[float, float]:
    leaves = m.feature < 0
    lo = hi = 0.0
    # each tree's nodes are contiguous and start at its root
    bounds = [*m.roots.tolist(), m.feature.shape[0]]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        v = m.value[a:b][leaves[a:b]]
        lo += float(v.min())
        hi += float(v.max())
    return lo, hi


# -- examples --------------------------------------------------------------------------------

class ExampleRecorder:
    """Collects training examples from an engine replay (``engine.recorder = ...``).

    Every registration evaluation is kept; other evaluations of an account are kept at the
    ordinal numbers in :data:`KEEP_ORDINALS` and at most once per :data:`SAMPLE_EVERY_MS` of
    event time otherwise, up to ``cap`` per account. The choice depends only on the past,
    so a replay cut at time T keeps exactly the same examples before T.
    """

    def __init__(self, cap: int = SAMPLE_CAP, every_ms: int = SAMPLE_EVERY_MS) -> None:
        self.cap = cap
        self.every_ms = every_ms
        self._count = np.zeros(1024, np.int64)
        self._kept = np.zeros(1024, np.int64)
        self._last = np.full(1024, -(2**62), np.int64)
        self._x: list[np.ndarray] = []
        self._meta: list[np.ndarray] = []   # (ts, account index, stage)
        self.t_min: int | None = None
        self.t_max: int | None = None
        self.evaluations = 0

    def record(self, engine, ev, rec, rec_meta, ids, tss, offset) -> None:
        if ev.shape[0]:
            lo, hi = int(ev[:, K.EV_TS].min()), int(ev[:, K.EV_TS].max())
            self.t_min = lo if self.t_min is None else min(self.t_min, lo)
            self.t_max = hi if self.t_max is None else max(self.t_max, hi)
        k = rec.shape[0]
        if k == 0:
            return
        self.evaluations += k
        need = int(rec_meta[:, 1].max()) + 1
        if need > self._count.shape[0]:
            grow = max(need, 2 * self._count.shape[0]) - self._count.shape[0]
            self._count = np.concatenate([self._count, np.zeros(grow, np.int64)])
            self._kept = np.concatenate([self._kept, np.zeros(grow, np.int64)])
            self._last = np.concatenate([self._last, np.full(grow, -(2**62), np.int64)])
        ts = ev[rec_meta[:, 0], K.EV_TS]
        keep = _sample(rec_meta[:, 1], rec_meta[:, 2], ts, self._count, self._kept,
                       self._last, self.cap, self.every_ms,
                       np.array(sorted(KEEP_ORDINALS), np.int64))
        if keep.any():
            self._x.append(rec[keep, :len(NAMES)].copy())
            self._meta.append(np.stack([ts[keep], rec_meta[keep, 1], rec_meta[keep, 2]], 1))

    def examples(self, engine) -> Examples:
        names = engine.ingest.account_names
        X = np.concatenate(self._x) if self._x else np.zeros((0, len(NAMES)))
        meta = np.concatenate(self._meta) if self._meta else np.zeros((0, 3), np.int64)
        return Examples(X=X, ts=meta[:, 0].copy(), account=[names[i] for i in meta[:, 1]],
                        stage=meta[:, 2].astype(np.int8), t_min=self.t_min or 0,
                        t_max=self.t_max or 0, evaluations=self.evaluations)


@njit(cache=True)
def _sample(acc, stage, ts, count, kept, last, cap, every, ordinals):
    keep = np.zeros(acc.shape[0], np.bool_)
    for i in range(acc.shape[0]):
        a = acc[i]
        if stage[i] == K.STAGE_REGISTRATION:
            keep[i] = True
            continue
        count[a] += 1
        if kept[a] >= cap:
            continue
        c = count[a]
        hit = False
        for o in ordinals:
            if o == c:
                hit = True
        if hit or ts[i] - last[a] >= every:
            keep[i] = True
            kept[a] += 1
            last[a] = ts[i]
    return keep


@dataclass
class Examples:
    """Signal vectors at decision points: ``X`` [n, n_signals], their event time, account and
    stage (0 registration, 1 messaging, 2 feedback)."""

    X: np.ndarray
    ts: np.ndarray
    account: list[str]
    stage: np.ndarray
    t_min: int
    t_max: int
    evaluations: int = 0


def build_examples(events: Sequence[str | Path], rules=None, config=None,
                   recorder: ExampleRecorder | None = None) -> Examples:
    """Replay ``events`` through an engine without a model and collect examples."""
    from seawall.engine import Engine
    from seawall.replay import replay

    eng = Engine(config=config, rules=rules)
    rec = recorder or ExampleRecorder()
    eng.recorder = rec
    replay([str(p) for p in events], engine=eng, keep_decisions=False)
    return rec.examples(eng)


def _cold_examples(events: Sequence[Path], start: int, end: int, rules) -> Examples:
    """Examples from an engine started without history at ``start``, up to ``end``: what a
    new deployment sees in its first hours (every account looks new), which one replay from
    the beginning of the data shows only once."""
    from seawall.engine import Engine

    eng = Engine(rules=rules)
    rec = ExampleRecorder()
    eng.recorder = rec
    for chunk in _chunks_from(events, start, end):
        eng.ingest_lines(chunk)
    return rec.examples(eng)


def _concat(a: Examples, b: Examples) -> Examples:
    return Examples(X=np.concatenate([a.X, b.X]), ts=np.concatenate([a.ts, b.ts]),
                    account=a.account + b.account, stage=np.concatenate([a.stage, b.stage]),
                    t_min=a.t_min, t_max=a.t_max, evaluations=a.evaluations + b.evaluations)


def label_examples(ex: Examples, labels: dict) -> np.ndarray:
    """1 abusive, 0 innocent, -1 unlabelled, per example. A taken-over account is innocent
    before its ``abuse_from``; nothing else about the future is used."""
    y = np.full(ex.ts.shape[0], -1, np.int8)
    for i, (acc, t) in enumerate(zip(ex.account, ex.ts.tolist(), strict=True)):
        lab = labels.get(acc)
        if lab is None:
            continue
        if lab.label == "abuse" and (lab.abuse_from is None or t >= lab.abuse_from):
            y[i] = 1
        else:
            y[i] = 0
    return y


# -- training --------------------------------------------------------------------------------

@dataclass
class TrainOptions:
    valid_fraction: float = 0.25
    seed: int = 0
    fpr: dict[str, float | None] = field(default_factory=lambda: dict(DEFAULT_FPR))
    rules: str | Path | None = None
    cold_starts: int = 2


def train(events: Sequence[str | Path], labels_path: str | Path,
          options: TrainOptions | None = None, log=None) -> ModelBundle:
    """Train both models on ``events`` and ``labels``; see the module docstring."""
    from seawall.evaluation import read_labels

    opt = options or TrainOptions()
    say = log or (lambda msg: None)
    if not 0.0 < opt.valid_fraction < 1.0:
        raise ValueError("--valid-fraction must be between 0 and 1")
    events = [Path(p) for p in events]
    for p in [*events, Path(labels_path)]:
        if not p.is_file():
            raise ValueError(f"{p}: no such file")
    labels, problems, duplicates = read_labels(labels_path)
    for p in problems[:20]:
        say(f"warning: {p} (line skipped)")
    if len(problems) > 20:
        say(f"warning: {len(problems) - 20} more bad label lines skipped")
    if not labels:
        raise ValueError(f"{labels_path}: no usable labels")

    ex = build_examples(events, rules=opt.rules)
    split = ex.t_min + int((1.0 - opt.valid_fraction) * (ex.t_max - ex.t_min))
    say(f"{ex.evaluations:,} evaluations, {ex.ts.shape[0]:,} examples kept; validation from "
        f"ts {split}")
    for k in range(1, opt.cold_starts + 1):
        start = ex.t_min + k * (split - ex.t_min) // (opt.cold_starts + 1)
        more = _cold_examples(events, start, split, opt.rules)
        say(f"cold start at ts {start}: {more.ts.shape[0]:,} more training examples")
        ex = _concat(ex, more)
    y = label_examples(ex, labels)

    built: list[TreeModel | None] = []
    for m, (name, features) in enumerate(zip(MODEL_NAMES, (REG_FEATURES, BEH_FEATURES),
                                             strict=True)):
        sel = (ex.stage == K.STAGE_REGISTRATION) if m == 0 else (ex.stage
                                                                 != K.STAGE_REGISTRATION)
        sel &= y >= 0
        tr = sel & (ex.ts < split)
        va = sel & (ex.ts >= split)
        model = _fit(name, features, ex.X[tr], y[tr], ex.X[va], y[va], opt.seed, say)
        built.append(model)
    bundle = ModelBundle(built[0], built[1])
    _choose_thresholds(bundle, events, labels, split, opt, say)
    bundle.info = {
        "training": {
            "events": [_file_info(p) for p in events],
            "labels": _file_info(Path(labels_path)),
            "labels_skipped": len(problems),
            "labels_duplicate_accounts": duplicates,
            "rules": str(opt.rules) if opt.rules is not None else "default",
            "seed": opt.seed,
            "valid_fraction": opt.valid_fraction,
            "cold_starts": opt.cold_starts,
            "valid_from_ts": split,
            "events_ts": [ex.t_min, ex.t_max],
            "evaluations": ex.evaluations,
            "sampling": {"ordinals": sorted(KEEP_ORDINALS), "every_ms": SAMPLE_EVERY_MS,
                         "cap_per_account": SAMPLE_CAP},
            "lightgbm": {**LGB_PARAMS, "rounds": ROUNDS},
            "target_fpr": opt.fpr,
            "min_probability": MIN_PROBABILITY,
        },
    }
    return bundle


def _fit(name: str, features: Sequence[str], Xtr: np.ndarray, ytr: np.ndarray,
         Xva: np.ndarray, yva: np.ndarray, seed: int, say) -> TreeModel | None:
    import lightgbm as lgb
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    pos, neg = int(ytr.sum()), int((ytr == 0).sum())
    if pos < 5 or neg < 5:
        say(f"{name} model: not trained ({pos} abusive, {neg} innocent training examples)")
        return None
    cols = [NAMES.index(f) for f in features]
    params = {**LGB_PARAMS, "seed": seed, "scale_pos_weight": neg / pos}
    ds = lgb.Dataset(Xtr[:, cols], label=ytr, feature_name=list(features),
                     params={"verbose": -1}, free_raw_data=False)
    booster = lgb.train(params, ds, num_boost_round=ROUNDS[name])
    model = compile_booster(booster, features)
    raw_tr = model.raw(Xtr)
    raw_va = model.raw(Xva)
    # calibrate on the later period when it has both classes, else on training data
    if yva.size and 0 < yva.sum() < yva.size:
        cal_x, cal_y, cal_on = raw_va, yva, "validation"
    else:
        cal_x, cal_y, cal_on = raw_tr, ytr, "training"
    lo, hi = _raw_range(model)
    grid = np.unique(np.concatenate([[lo, hi], np.linspace(lo, hi, 201),
                                     np.quantile(cal_x, np.linspace(0, 1, 101))]))
    n_pos = int(cal_y.sum())
    if min(n_pos, cal_y.size - n_pos) >= ISOTONIC_MIN:
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(cal_x, cal_y)
        grid = np.unique(np.concatenate([grid, iso.X_thresholds_]))
        prob = (1 - _EPS) * iso.predict(grid) + _EPS / (1 + np.exp(-grid))
        method = "isotonic"
    else:
        # Too few examples of a class for isotonic steps to mean anything (a step per
        # handful of accounts): Platt scaling, a logistic curve of the raw score.
        platt = LogisticRegression(C=1e4).fit(cal_x.reshape(-1, 1), cal_y)
        prob = platt.predict_proba(grid.reshape(-1, 1))[:, 1]
        method = "platt"
    model.calib = np.stack([grid, np.clip(prob, 0.0, 1.0)], 1)

    def auc(yy, ss):
        return round(float(roc_auc_score(yy, ss)), 6) if 0 < yy.sum() < yy.size else None

    model.metrics = {
        "train_examples": int(ytr.size), "train_abusive": pos,
        "valid_examples": int(yva.size), "valid_abusive": int(yva.sum()),
        "train_auc": auc(ytr, raw_tr), "valid_auc": auc(yva, raw_va),
        "calibrated_on": cal_on, "calibration": method, "trees": int(model.roots.size),
        "nodes": int(model.feature.size),
    }
    say(f"{name} model: {model.metrics['trees']} trees, {pos:,}/{ytr.size:,} abusive training "
        f"examples, validation AUC {model.metrics['valid_auc']}")
    return model


class _MaxRecorder:
    """Per account, the highest calibrated score of each model during the validation period,
    separately while innocent and while abusive (for thresholds counted per account); for
    the registration model also during the training period (``late`` False)."""

    def __init__(self, split: int, labels: dict) -> None:
        self.split = split
        self.labels = labels
        self.best: dict[tuple[int, str, bool, bool], float] = {}

    def record(self, engine, ev, rec, rec_meta, ids, tss, offset) -> None:
        if rec.shape[0] == 0:
            return
        ts = ev[rec_meta[:, 0], K.EV_TS]
        rows = np.flatnonzero((ts >= self.split) | (rec_meta[:, 2] == K.STAGE_REGISTRATION))
        names = engine.ingest.account_names
        for i in rows.tolist():
            m = 0 if rec_meta[i, 2] == K.STAGE_REGISTRATION else 1
            s = rec[i, K.SIG_MODEL[m]]
            if s != s:
                continue
            acc = names[rec_meta[i, 1]]
            lab = self.labels.get(acc)
            if lab is None:
                continue
            t = int(ts[i])
            abusive = lab.label == "abuse" and (lab.abuse_from is None or t >= lab.abuse_from)
            key = (m, acc, abusive, t >= self.split)
            if s > self.best.get(key, -1.0):
                self.best[key] = float(s)

    def scores(self, m: int, abusive: bool, late_only: bool = True) -> np.ndarray:
        """Each account's highest score (one per account), ascending."""
        per: dict[str, float] = {}
        for (mm, acc, ab, late), s in self.best.items():
            if mm == m and ab == abusive and (late or not late_only):
                per[acc] = max(s, per.get(acc, -1.0))
        return np.sort(np.array(list(per.values()), np.float64))


def _choose_thresholds(bundle: ModelBundle, events: Sequence[Path], labels: dict, split: int,
                       opt: TrainOptions, say) -> None:
    """Replay with the calibrated models (acting on nothing) and, for each action, take the
    lowest threshold whose innocent accounts crossing it stay within the target rate."""
    from seawall.engine import Engine
    from seawall.replay import replay

    rec = _MaxRecorder(split, labels)
    # Twice: continuing from the training period (a running engine), and starting cold at
    # the split (a new deployment, whose first hours see every account without history).
    for cold in (False, True):
        eng = Engine(rules=opt.rules, model=bundle)
        eng.policy = np.full((2, 5), np.nan)   # observe only: the rules alone act
        eng.recorder = rec
        if cold:
            for chunk in _chunks_from(events, split):
                eng.ingest_lines(chunk)
        else:
            replay([str(p) for p in events], engine=eng, keep_decisions=False)
    for m, model in enumerate(bundle.models):
        if model is None:
            continue
        abusive = rec.scores(m, True)
        per_level = {}
        for lvl in LEVELS:
            target = opt.fpr.get(lvl)
            if target is None:
                model.thresholds[lvl] = None
                continue
            innocent = rec.scores(m, False)
            if m == 0 and innocent.size * target < 1:
                # too few held-out sign-ups to measure this rate: stay above the training
                # period's innocent sign-ups as well
                innocent = rec.scores(m, False, late_only=False)
            allowed = int(math.floor(target * innocent.size + 1e-9))
            if innocent.size == 0:
                t = MIN_PROBABILITY[MODEL_NAMES[m]][lvl]
            elif allowed >= innocent.size:
                t = float(innocent[0])
            else:
                t = float(np.nextafter(innocent[innocent.size - 1 - allowed], np.inf))
            t = max(t, MIN_PROBABILITY[MODEL_NAMES[m]][lvl])
            model.thresholds[lvl] = t
            per_level[lvl] = {
                "threshold": round(t, 6),
                "target_fpr": target,
                "innocent_accounts": int(innocent.size),
                "innocent_accounts_over": int((innocent >= t).sum()),
                "abusive_accounts_over": int((abusive >= t).sum()),
            }
        model.metrics["validation_accounts"] = {"innocent": int(rec.scores(m, False).size),
                                                "abusive": int(abusive.size)}
        model.metrics["policy"] = per_level
        say(f"{MODEL_NAMES[m]} thresholds: " + ", ".join(
            f"{lvl} {v['threshold']:.6g} (catches {v['abusive_accounts_over']}/{abusive.size},"
            f" {v['innocent_accounts_over']}/{v['innocent_accounts']} innocent)"
            for lvl, v in per_level.items()))


def _first_at(lines: list[bytes], t: int) -> int | None:
    """Index of the first line with ``ts >= t`` (None if there is none)."""
    for i, line in enumerate(lines):
        try:
            ts = orjson.loads(line).get("ts")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if isinstance(ts, int) and ts >= t:
            return i
    return None


def _chunks_from(events: Sequence[Path], t: int, end: int | None = None,
                 size: int = 1 << 20):
    """The events with ``t <= ts < end`` (files are in ``ts`` order), in chunks of lines."""
    started = False
    for p in events:
        with open(p, "rb") as f:
            while lines := f.readlines(size):
                if not started:
                    i = _first_at(lines, t)
                    if i is None:
                        continue
                    started = True
                    lines = lines[i:]
                if end is not None:
                    j = _first_at(lines, end)
                    if j is not None:
                        yield lines[:j]
                        return
                yield lines


def _file_info(path: Path) -> dict[str, Any]:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return {"path": path.name, "bytes": path.stat().st_size, "sha256": h.hexdigest()}


# -- commands --------------------------------------------------------------------------------

def _fpr_option(level: str):
    return click.option(f"--fpr-{level}", f"fpr_{level}", type=str,
                        default=str(DEFAULT_FPR[level]), show_default=True,
                        help=f"Target share of innocent accounts given `{level}` on validation "
                             "data (a fraction, or `off`).")


def _parse_fpr(level: str, value: str) -> float | None:
    if value.lower() in ("off", "none", "never"):
        return None
    try:
        f = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number or `off`",
                                 param_hint=f"--fpr-{level}") from None
    if not 0.0 <= f < 1.0:
        raise click.BadParameter(f"{value} is not a fraction in [0, 1)",
                                 param_hint=f"--fpr-{level}")
    return f


@click.command("train")
@click.option("--events", "events", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Events file (NDJSON, oldest first); repeat for more files.")
@click.argument("more_events", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--labels", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Labels file: {account, label: abuse|legit[, abuse_from]} per line.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the model file (JSON).")
@click.option("--valid-fraction", default=0.25, show_default=True, type=float,
              help="The last share of event time held out for calibration and thresholds.")
@click.option("--seed", default=0, show_default=True, type=int, help="LightGBM seed.")
@click.option("--cold-starts", default=2, show_default=True, type=click.IntRange(min=0),
              help="Extra replays of the training period from engines started without "
                   "history (see docs/models.md).")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False),
              help="Rule file the engine runs while collecting examples (default: shipped).")
@_fpr_option("review")
@_fpr_option("challenge")
@_fpr_option("restrict")
@_fpr_option("ban")
def train_command(events, more_events, labels, out, valid_fraction, seed, cold_starts, rules,
                  fpr_review, fpr_challenge, fpr_restrict, fpr_ban) -> None:
    """Train the registration and behaviour models on EVENTS and LABELS.

    \b
    seawall train --events events.jsonl --labels labels.jsonl --out model.json
    """
    fpr = {lvl: _parse_fpr(lvl, v) for lvl, v in zip(
        LEVELS, (fpr_review, fpr_challenge, fpr_restrict, fpr_ban), strict=True)}
    opt = TrainOptions(valid_fraction=valid_fraction, seed=seed, fpr=fpr, rules=rules,
                       cold_starts=cold_starts)
    from seawall.rules import RuleError

    try:
        bundle = train([*events, *more_events], labels, opt,
                       log=lambda msg: click.echo(msg, err=True))
    except RuleError as exc:
        raise click.ClickException(f"invalid rules:\n{exc}") from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    bundle.save(out)
    click.echo(f"wrote {out}")


@click.group("model")
def model_group() -> None:
    """Inspect model files."""


@model_group.command("show")
@click.argument("model", required=False, type=click.Path(dir_okay=False))
def model_show(model: str | None) -> None:
    """Print a MODEL file's training data, validation figures and thresholds
    (default: the shipped model)."""
    path = Path(model) if model else default_model_path()
    try:
        bundle = load_model(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    tr = bundle.info.get("training", {})
    click.echo(f"{path}")
    for f in tr.get("events", []):
        click.echo(f"  events  {f['path']}  sha256 {f['sha256'][:16]}…")
    if "labels" in tr:
        click.echo(f"  labels  {tr['labels']['path']}  sha256 {tr['labels']['sha256'][:16]}…")
    for name, m in zip(MODEL_NAMES, bundle.models, strict=True):
        if m is None:
            click.echo(f"{name} model: none")
            continue
        mt = m.metrics
        click.echo(f"{name} model: {len(m.features)} signals, {mt.get('trees')} trees, "
                   f"validation AUC {mt.get('valid_auc')} "
                   f"({mt.get('valid_abusive')}/{mt.get('valid_examples')} abusive examples)")
        for lvl in reversed(LEVELS):
            t = m.thresholds.get(lvl)
            p = mt.get("policy", {}).get(lvl, {})
            if t is None:
                click.echo(f"  {lvl:<9} off")
                continue
            click.echo(f"  {lvl:<9} score >= {t:.10g}   validation: "
                       f"{p.get('abusive_accounts_over', '?')}"
                       f"/{mt.get('validation_accounts', {}).get('abusive', '?')} abusive, "
                       f"{p.get('innocent_accounts_over', '?')}"
                       f"/{p.get('innocent_accounts', '?')} innocent "
                       f"accounts over (target FPR {p.get('target_fpr')})")


def register(cli: click.Group) -> None:
    """Add ``train``, ``model show`` and ``compare`` to the ``seawall`` command."""
    from seawall.comparison import compare_command

    cli.add_command(train_command)
    cli.add_command(model_group)
    cli.add_command(compare_command)

