"""Training, model files, the compiled scorer and explanations, on a small simulation."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from seawall.cli import cli
from seawall.engine import Engine
from seawall.replay import replay
from seawall.signals import NAMES, index
from seawall.simulation import simulate
from seawall.training import (
    ModelBundle,
    TrainOptions,
    TreeModel,
    build_examples,
    compile_booster,
    default_model_path,
    load_model,
    train,
)


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate(accounts=400, days=1, seed=5, out_dir=out)
    return out


@pytest.fixture(scope="module")
def trained(sim) -> ModelBundle:
    return train([sim / "events.jsonl"], sim / "labels.jsonl", TrainOptions(seed=3))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a, b, equal_nan=True)


def test_examples_before_a_cut_do_not_depend_on_later_events(sim, tmp_path):
    lines = (sim / "events.jsonl").read_bytes().splitlines(keepends=True)
    ts = [json.loads(line)["ts"] for line in lines]
    cut = ts[0] + (ts[-1] - ts[0]) // 2
    head_lines = [ln for ln, t in zip(lines, ts, strict=True) if t < cut]
    (tmp_path / "head.jsonl").write_bytes(b"".join(head_lines))
    full = build_examples([sim / "events.jsonl"])
    head = build_examples([tmp_path / "head.jsonl"])
    early = full.ts < cut
    assert head.ts.shape[0] == int(early.sum()) > 1000
    assert _same(full.X[early], head.X)
    assert [a for a, e in zip(full.account, early, strict=True) if e] == head.account
    assert _same(full.stage[early], head.stage)
    # the later half really changes things: the same accounts have later examples
    assert (~early).sum() > 1000


def test_training_on_a_small_simulation(trained):
    beh = trained.behaviour
    assert beh is not None
    assert beh.metrics["valid_auc"] >= 0.95
    assert beh.metrics["valid_abusive"] > 0
    policy = trained.policy()
    assert policy.shape == (2, 5)
    assert np.isnan(policy[:, 0]).all()
    # thresholds never go below the minimum probabilities and rise with the action
    assert policy[1, 4] >= 0.9 and policy[1, 3] >= 0.7 and policy[1, 2] >= 0.5
    assert policy[1, 1] <= policy[1, 2] <= policy[1, 3] <= policy[1, 4]
    # calibration is a probability and increases with the raw score
    cal = beh.calib
    assert (np.diff(cal[:, 0]) > 0).all() and (np.diff(cal[:, 1]) > 0).all()
    assert 0.0 <= cal[0, 1] and cal[-1, 1] <= 1.0
    # a few held-out abusive examples cannot carry isotonic steps: a logistic curve instead
    assert beh.metrics["valid_abusive"] < 100 and beh.metrics["calibration"] == "platt"
    reg = trained.registration
    assert reg is not None and reg.metrics["calibration"] == "platt"


def test_save_load_round_trip_gives_identical_scores(trained, sim, tmp_path):
    path = tmp_path / "model.json"
    trained.save(path)
    loaded = load_model(path)
    X = build_examples([sim / "events.jsonl"]).X[:5000]
    for m in (0, 1):
        assert _same(trained.score(m, X), loaded.score(m, X))
    assert _same(trained.policy(), loaded.policy())
    for a, b in zip(trained.compiled(), loaded.compiled(), strict=True):
        for x, y in zip(a, b, strict=True):
            assert x.dtype == y.dtype and _same(x, y)
    path2 = tmp_path / "again.json"
    loaded.save(path2)
    assert path2.read_bytes() == path.read_bytes()
    assert loaded.info["training"]["events"][0]["sha256"] == \
        trained.info["training"]["events"][0]["sha256"]


def test_engine_with_the_model_explains_its_decisions(trained, sim):
    result = replay([sim / "events.jsonl"], model=trained)
    by_model = [d for d in result.decisions if d.reasons and d.reasons[0].endswith("_MODEL")]
    assert by_model, "the model drove no decision"
    for d in by_model:
        codes = d.reasons[1:4]
        assert codes and all(c.split("_", 1)[0] in ("HIGH", "LOW", "UNKNOWN") for c in codes)
        assert all(c.split("_", 1)[1].lower() in NAMES for c in codes)


def test_schema_mismatch_and_corrupt_files_give_clear_errors(trained, tmp_path):
    path = tmp_path / "model.json"
    trained.save(path)
    data = json.loads(path.read_text())
    data["models"]["behaviour"]["features"][0] = "signal_from_the_future"
    bad = tmp_path / "other_schema.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"other_schema\.json: the model reads signals this "
                                         r"engine does not have: signal_from_the_future"):
        load_model(bad)
    data = json.loads(path.read_text())
    data["version"] = 99
    (tmp_path / "v99.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"v99\.json: model file version 99 is not supported"):
        load_model(tmp_path / "v99.json")
    (tmp_path / "cut.json").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"cut\.json: not a Seawall model file \(invalid JSON"):
        load_model(tmp_path / "cut.json")
    data = json.loads(path.read_text())
    data["models"]["behaviour"]["trees"]["left"][0] = 10**9
    (tmp_path / "broken.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"broken\.json: corrupt behaviour model"):
        load_model(tmp_path / "broken.json")
    # the engine and the CLI pass the message on, without a traceback
    with pytest.raises(ValueError, match="signal_from_the_future"):
        Engine(model=bad)
    r = CliRunner().invoke(cli, ["replay", str(tmp_path), "--out", str(tmp_path / "d.jsonl"),
                                 "--model", str(bad)])
    assert r.exit_code != 0


def test_compiled_trees_equal_lightgbm_predict():
    rng = np.random.default_rng(0)
    n, f = 3000, 6
    X = rng.normal(size=(n, f))
    X[rng.random((n, f)) < 0.2] = np.nan
    X[:, 5] = rng.integers(0, 4, n)          # no missing values in training: missing_type None
    y = ((np.nan_to_num(X[:, 0]) + X[:, 5] * 0.5 + rng.normal(size=n) * 0.5) > 1).astype(int)
    params = {"objective": "binary", "num_leaves": 15, "deterministic": True,
              "force_row_wise": True, "num_threads": 1, "seed": 1, "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=40)
    features = list(NAMES[:f])
    model = compile_booster(booster, features)
    test = rng.normal(size=(500, f))
    test[rng.random((500, f)) < 0.3] = np.nan  # NaN also where training had none
    full = np.full((500, len(NAMES)), np.nan)
    full[:, :f] = test
    assert np.abs(model.raw(full) - booster.predict(test, raw_score=True)).max() < 1e-9


def _hand_model() -> ModelBundle:
    """Two stumps: msgs_1m > 10 adds 2 (else -1); reply_rate <= 0.1 or unknown adds 1.5."""
    m = TreeModel(
        features=["msgs_1m", "reply_rate"],
        feature=np.array([0, -1, -1, 1, -1, -1]),
        threshold=np.array([10.0, -1.0, 2.0, 0.1, 1.5, -1.0]),
        left=np.array([1, 0, 0, 4, 0, 0]), right=np.array([2, 0, 0, 5, 0, 0]),
        default_left=np.array([0, 0, 0, 1, 0, 0]),
        value=np.array([0.0, -1.0, 2.0, 0.0, 1.5, -1.0]), roots=np.array([0, 3]),
        calib=np.array([[-2.0, 0.01], [0.0, 0.5], [3.5, 0.99]]),
        thresholds={"review": 0.3, "challenge": None, "restrict": 0.8, "ban": 0.95})
    return ModelBundle(None, m)


def test_reason_codes_name_the_signals_that_pushed_the_score_up():
    b = _hand_model()
    sig = np.full(len(NAMES), np.nan)
    sig[index("msgs_1m")] = 50.0
    sig[index("reply_rate")] = 0.0
    assert b.reasons(1, sig, NAMES) == ["BEHAVIOUR_MODEL", "HIGH_MSGS_1M", "LOW_REPLY_RATE"]
    assert round(float(b.score(1, sig[None])[0]), 6) == 0.99
    assert b.level(1, 0.99) == 4 and b.level(1, 0.9) == 3 and b.level(1, 0.5) == 1
    assert b.level(1, 0.1) == 0 and b.level(1, float("nan")) == 0
    sig[index("reply_rate")] = np.nan          # unknown goes the default (left) way
    assert b.reasons(1, sig, NAMES) == ["BEHAVIOUR_MODEL", "HIGH_MSGS_1M",
                                        "UNKNOWN_REPLY_RATE"]
    sig[index("msgs_1m")] = 2.0                # low sending pulls the score down: not a reason
    sig[index("reply_rate")] = 0.5
    assert b.reasons(1, sig, NAMES) == ["BEHAVIOUR_MODEL"]
    assert b.reasons(0, sig, NAMES) == []      # no registration model
    p = b.policy()
    assert np.isnan(p[0]).all() and np.isnan(p[1, 2])
    assert p[1, 1] == 0.3 and p[1, 3] == 0.8 and p[1, 4] == 0.95


def test_train_command_and_model_show(sim, tmp_path):
    labels = tmp_path / "labels.jsonl"
    good = (sim / "labels.jsonl").read_bytes()
    labels.write_bytes(good + b'{"account": "x", "label": "spam"}\nnot json\n')
    out = tmp_path / "m.json"
    r = CliRunner().invoke(cli, ["train", "--events", str(sim / "events.jsonl"), "--labels",
                                 str(labels), "--out", str(out), "--fpr-review", "off"])
    assert r.exit_code == 0, r.output
    n = good.count(b"\n")
    assert f"labels.jsonl:{n + 1}: `label`" in r.output
    assert f"labels.jsonl:{n + 2}: not valid JSON" in r.output
    bundle = load_model(out)
    assert bundle.info["training"]["labels_skipped"] == 2
    assert bundle.behaviour.thresholds["review"] is None
    r = CliRunner().invoke(cli, ["model", "show", str(out)])
    assert r.exit_code == 0, r.output
    assert "behaviour model:" in r.output and "review    off" in r.output
    r = CliRunner().invoke(cli, ["train", "--events", str(sim / "events.jsonl"), "--labels",
                                 str(labels), "--out", str(out), "--fpr-ban", "2"])
    assert r.exit_code == 2 and "not a fraction" in r.output


def test_training_is_deterministic(trained, sim, tmp_path):
    again = train([sim / "events.jsonl"], sim / "labels.jsonl", TrainOptions(seed=3))
    trained.save(tmp_path / "a.json")
    again.save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_compare_command_puts_both_runs_side_by_side(trained, sim, tmp_path):
    model = tmp_path / "m.json"
    trained.save(model)
    r = CliRunner().invoke(cli, ["compare", "--events", str(sim / "events.jsonl"), "--labels",
                                 str(sim / "labels.jsonl"), "--model", str(model),
                                 "--report", str(tmp_path / "cmp")])
    assert r.exit_code == 0, r.output
    assert "Rules only vs rules + model" in r.output
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    rules, both = data["rules"], data["rules_model"]
    assert rules["counts"]["abusers"] == both["counts"]["abusers"] > 0
    # the model only adds enforcement: it never loses an abuser the rules caught here
    assert both["counts"]["caught"] >= rules["counts"]["caught"]
    assert data["verdict"]["recall_gain"] == round(
        both["headline"]["recall"] - rules["headline"]["recall"], 4)
    assert (tmp_path / "cmp" / "rules_model" / "report.json").is_file()
    held = CliRunner().invoke(cli, ["compare", "--events", str(sim / "events.jsonl"),
                                    "--labels", str(sim / "labels.jsonl"), "--model",
                                    str(model), "--holdout-fraction", "0.5"])
    assert held.exit_code == 0, held.output
    assert "held-out period from ts" in held.output
    # `seawall evaluate --compare` is the same comparison, with the same files
    ev = CliRunner().invoke(cli, ["evaluate", "--events", str(sim / "events.jsonl"),
                                  "--labels", str(sim / "labels.jsonl"), "--model", str(model),
                                  "--compare", "--report", str(tmp_path / "ev")])
    assert ev.exit_code == 0, ev.output
    assert json.loads((tmp_path / "ev" / "comparison.json").read_text()) == data
    wrong = CliRunner().invoke(cli, ["evaluate", "--events", str(sim / "events.jsonl"),
                                     "--labels", str(sim / "labels.jsonl"),
                                     "--holdout-fraction", "0.5"])
    assert wrong.exit_code == 2 and "need --compare" in wrong.output


_json = st.recursive(st.none() | st.booleans() | st.integers(-3, 10**6)
                     | st.floats(allow_nan=False) | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
_PATHS = [("version",), ("models",), ("models", "registration"), ("models", "behaviour"),
          ("models", "behaviour", "features"), ("models", "behaviour", "trees"),
          ("models", "behaviour", "trees", "left"), ("models", "behaviour", "trees", "roots"),
          ("models", "behaviour", "trees", "feature"), ("models", "behaviour", "calibration"),
          ("models", "behaviour", "thresholds"), ("models", "behaviour", "thresholds", "ban")]


@settings(max_examples=60, deadline=None)
@given(where=st.sampled_from(_PATHS), value=_json, node=st.integers(0, 40))
def test_a_damaged_model_file_is_refused_or_still_scores(trained, tmp_path_factory, where,
                                                         value, node):
    data = json.loads(json.dumps(trained.to_dict()))
    target = data
    for key in where[:-1]:
        target = target[key]
    if where[-1] in ("left", "roots", "feature") and isinstance(value, int):
        target[where[-1]][node] = value     # one bad index among good ones
    else:
        target[where[-1]] = value
    path = tmp_path_factory.mktemp("damaged") / "model.json"
    path.write_text(json.dumps(data))
    try:
        bundle = load_model(path)
    except ValueError as exc:
        assert str(exc).startswith(str(path))
        return
    sig = np.zeros((3, len(NAMES)))
    for m in (0, 1):
        scores = bundle.score(m, sig)
        assert scores.shape == (3,)
    assert bundle.policy().shape == (2, 5)


def test_the_shipped_registration_model_acts_only_inside_a_risky_burst():
    # three unverified sign-ups on a modified app from one number block are a farm (rules);
    # the fourth, on an official app and verified, is only challenged by the rules, while
    # the shipped registration model restricts it; a lone modified-app sign-up elsewhere is
    # challenged with or without the model
    t0, m = 1_767_571_200_000, 60_000

    def reg(ts, account, phone, client, verification, ip="198.51.100.9"):
        return json.dumps({"type": "registration", "ts": ts, "account": account,
                           "phone": phone, "ip": ip, "device": f"dev-{account}",
                           "client": client, "verification": verification}).encode()

    lines = [reg(t0 + i * m, f"farm{i}", f"+15557770{i:03d}", "gbwhatsapp/17.5", "none")
             for i in range(3)]
    lines += [reg(t0 + 5 * m, "farm3", "+15557770005", "ios/24.3", "sms"),
              reg(t0 + 6 * m, "lone", "+4915112345678", "gbwhatsapp/17.5", "sms",
                  ip="203.0.113.5")]
    final = {}
    for model in (None, "default"):
        decisions, _ = Engine(model=model, text_scorer=None).ingest_lines(lines)
        final[model] = {d.account: (d.action, d.reasons[0]) for d in decisions}
    assert final[None]["farm3"] == ("challenge", "ABUSE_HISTORY_CHALLENGE")
    assert final["default"]["farm3"] == ("restrict", "REGISTRATION_MODEL_IN_BURST")
    assert final[None]["lone"] == ("challenge", "UNOFFICIAL_CLIENT")
    assert final["default"]["lone"][0] == "challenge"
    for model in (None, "default"):
        assert [final[model][f"farm{i}"][0] for i in range(3)] == ["ban"] * 3


def test_the_shipped_models_calibration_fits_its_held_out_data():
    shipped = load_model(default_model_path())
    # hundreds of abusive held-out examples for behaviour, a few dozen sign-ups
    assert shipped.behaviour.metrics["calibration"] == "isotonic"
    assert shipped.behaviour.metrics["valid_abusive"] >= 100
    assert shipped.registration.metrics["calibration"] == "platt"
    assert shipped.registration.metrics["valid_abusive"] < 100
