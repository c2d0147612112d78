"""The engine: event in -> state updated -> signals -> rules and models -> policy -> decision.

This is the one data path. ``seawall replay``, ``seawall serve``, evaluation and training
all drive an :class:`Engine`; none of them computes a signal another way.

>>> eng = Engine()
>>> lines = [b'{"type":"registration","ts":0,"account":"a","phone":"+15550001234"}']
>>> lines += [b'{"type":"message","ts":%d,"account":"a","peer":"p%d","kind":"link"}' % (
...     1000 + 100 * i, i) for i in range(100)]
>>> decisions, rejects = eng.ingest_lines(lines)
>>> [(d.action, d.stage, d.reasons[0]) for d in decisions]
[('ban', 'messaging', 'NEW_ACCOUNT_BLITZ')]
"""

from __future__ import annotations

import math
import pickle
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from seawall import kernel as K
from seawall import privacy
from seawall import state as S
from seawall.clients import DEFAULT_AUTOMATION, DEFAULT_CLIENTS, ClientPolicy
from seawall.decisions import ACTIONS, LEVEL_BAN, LEVEL_NONE, STAGES, Decision
from seawall.events import Event, Registration
from seawall.ingest import Ingest, Reject, to_matrix
from seawall.models import empty_model
from seawall.rules import RULE_STAGES, RuleSet, load_rules
from seawall.signals import as_dict

DEV_SECRET = "seawall-development-secret-change-me"


class EngineConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Engine options; every duration is in seconds. Defaults suit a first deployment."""

    secret: str = DEV_SECRET            # key for hashing number/IP blocks and devices
    dedup_window: int = 86_400          # an event id seen within this window is ignored
    late_tolerance: int = 300           # events this far behind the clock are still taken
    retention: int = 30 * 86_400        # pair and membership entries untouched this long age out
    reply_window: int = 86_400          # a first contact answered within this counts as replied
    leave_window: int = 86_400          # an added member leaving within this "left soon"
    gap_max: int = 3_600                # longer gaps between messages are pauses, not cadence
    gap_alpha: float = 0.1              # weight of the newest gap in the cadence statistics
    report_weight_stranger: float = 1.5  # a report on a stranger's first contact weighs more
    report_weight_young: float = 0.5    # reporter registered less than `young_reporter` ago
    young_reporter: int = 86_400
    report_weight_prolific: float = 0.25  # reporter filed more than `prolific_reporter` in 24 h
    prolific_reporter: int = 10
    report_weight_unreceived: float = 0.0  # reporter never received anything from the account
    report_text_min: float = 0.5        # report weight factor for attached text scored 0 ...
    report_text_max: float = 1.5        # ... and scored 1 by the report-text classifier
    revisit_window: int = 3_600         # an actioned sign-up revisits its entities' recent ones
    batch_size: int = 4096
    clients: dict[str, str] = msgspec.field(default_factory=lambda: dict(DEFAULT_CLIENTS))
    automation_clients: list[str] = msgspec.field(
        default_factory=lambda: list(DEFAULT_AUTOMATION))  # client platforms that are scripts

    def params(self) -> np.ndarray:
        p = np.zeros(K.NP, np.float64)
        p[K.P_REPLY_WINDOW] = self.reply_window * 1000
        p[K.P_LEAVE_WINDOW] = self.leave_window * 1000
        p[K.P_GAP_MAX] = self.gap_max * 1000
        p[K.P_GAP_ALPHA] = self.gap_alpha
        p[K.P_W_STRANGER] = self.report_weight_stranger
        p[K.P_W_YOUNG] = self.report_weight_young
        p[K.P_YOUNG_AGE] = self.young_reporter * 1000
        p[K.P_W_PROLIFIC] = self.report_weight_prolific
        p[K.P_PROLIFIC] = self.prolific_reporter
        p[K.P_W_UNRECEIVED] = self.report_weight_unreceived
        p[K.P_TEXT_MIN] = self.report_text_min
        p[K.P_TEXT_MAX] = self.report_text_max
        p[K.P_REVISIT] = self.revisit_window * 1000
        return p


@dataclass
class Verdict:
    """Answer to "may this number register?" (no state is changed by asking)."""

    action: str            # allow | challenge | deny
    reasons: list[str]
    score: float | None
    signals: dict[str, float | None] = field(default_factory=dict)


# a callable scoring one report's messages, or an object with `score_many(reports)`
TextScorer = Callable[[list[str]], "float | None"]


class Engine:
    """One engine: state, rules, optional models and report-text scorer."""

    def __init__(self, config: EngineConfig | None = None, rules: RuleSet | str | Path | None
                 = None, model=None, text_scorer: TextScorer | None | str = "default",
                 campaigns="default") -> None:
        self.config = config or EngineConfig()
        self.rules = rules if isinstance(rules, RuleSet) else load_rules(rules)
        self.model = _load_model(model)
        self.reg_model, self.beh_model = (self.model.compiled() if self.model is not None
                                          else (empty_model(), empty_model()))
        # thresholds per model (row 0 registration, 1 behaviour) and enforcement level
        self.policy = (self.model.policy() if self.model is not None
                       else np.full((2, 5), np.nan))
        self.text_scorer = _default_text_scorer() if text_scorer == "default" else text_scorer
        self._text_scores: dict[tuple[str, ...], float | None] = {}
        self.ingest = Ingest(secret=self.config.secret.encode(),
                             dedup_window_ms=self.config.dedup_window * 1000,
                             late_tolerance_ms=self.config.late_tolerance * 1000,
                             clients=ClientPolicy(self.config.clients,
                                                  self.config.automation_clients))
        self.state = S.State()
        self.params = self.config.params()
        self.stats = np.zeros(K.NST, np.int64)
        self.counters: Counter[str] = Counter()
        self._sig = np.zeros(len(self.rules.signal_names), np.float64)
        self._stack = np.zeros(64, np.float64)
        # rows used by check_registration: an account and one entity per kind
        self._scratch = self.ingest.account("\x00check")
        self._scratch_entities = tuple(self.ingest.entity(k, "\x00check") for k in range(3))
        self.recorder = None    # seawall.training attaches one to collect examples
        self.campaigns = _default_campaigns() if campaigns == "default" else campaigns
        self._last_tick = -1

    # -- the data path -----------------------------------------------------------------
    @property
    def clock(self) -> int:
        return self.ingest.clock

    def ingest_lines(self, lines: Iterable[bytes], source: str = "<input>",
                     first_line: int = 1) -> tuple[list[Decision], list[Reject]]:
        """Validate and process NDJSON lines; return decisions and rejected lines."""
        rows: list = []
        ids: list = []
        tss: list = []
        texts: list = []
        rejects: list[Reject] = []
        self.ingest.decode(lines, source, first_line, rows, ids, tss, texts, rejects)
        self.counters["rejected"] += len(rejects)
        for r in rejects:
            self.counters["rejected:" + r.kind] += 1
        return self._run(rows, ids, tss, texts), rejects

    def process(self, events: Iterable[Event]) -> list[Decision]:
        """Process already-validated events (e.g. from an HTTP JSON array)."""
        rows: list = []
        ids: list = []
        tss: list = []
        texts: list = []
        for ev in events:
            reason = self.ingest.admit(ev)
            if reason is None:
                self.ingest.append(ev, rows, ids, tss, texts)
            elif reason != "duplicate":
                self.counters["rejected"] += 1
                self.counters["rejected:late"] += 1
        return self._run(rows, ids, tss, texts)

    def _run(self, rows: list, ids: list, tss: list, texts: list) -> list[Decision]:
        decisions: list[Decision] = []
        self.counters["events"] += len(rows)
        step = self.config.batch_size
        for lo in range(0, len(rows), step):
            batch = to_matrix(rows[lo:lo + step])
            self._score_texts(batch, texts, lo)
            for a, b in self._tick_slices(batch):
                if self.campaigns is not None and b > a:
                    decisions.extend(self._campaign_tick(int(batch[a, K.EV_TS])))
                decisions.extend(self._batch(batch[a:b], ids, tss, lo + a, texts))
        self.counters["duplicates"] = self.ingest.duplicates
        return decisions

    def _tick_slices(self, batch: np.ndarray) -> list[tuple[int, int]]:
        """Cut a batch where event time crosses a campaign tick, so campaign actions take
        effect at the same event whatever the batch size."""
        n = batch.shape[0]
        if self.campaigns is None or n == 0:
            return [(0, n)]
        ticks = batch[:, K.EV_TS] // self.campaigns.tick_ms
        cuts = (np.flatnonzero(np.diff(ticks)) + 1).tolist()
        bounds = [0, *cuts, n]
        return list(zip(bounds[:-1], bounds[1:], strict=True))

    def _campaign_tick(self, t: int) -> list[Decision]:
        tick = t // self.campaigns.tick_ms
        if tick <= self._last_tick:
            return []
        self._last_tick = tick
        out = []
        for act in self.campaigns.tick(self, tick * self.campaigns.tick_ms):
            d = self.apply_automatic(act.account, act.action, act.ts, "campaign", act.reasons,
                                     act.score)
            if d is not None:
                out.append(d)
        return out

    def _score_texts(self, batch: np.ndarray, texts: list, lo: int) -> None:
        """Score the text attached to the batch's reports, all at once."""
        if self.text_scorer is None:
            return
        items = [x for x in texts if x is not None and lo <= x[0] < lo + batch.shape[0]]
        if not items:
            return
        # Spam is reported again and again with the same text: score each text once.
        cache = self._text_scores
        todo = list(dict.fromkeys(key for _, m in items if (key := tuple(m)) not in cache))
        if todo:
            many = getattr(self.text_scorer, "score_many", None)
            scores = (many([list(k) for k in todo]) if many is not None
                      else [self.text_scorer(list(k)) for k in todo])
            if len(cache) + len(todo) > 100_000:
                cache.clear()
            cache.update(zip(todo, scores, strict=True))
        for row, m in items:
            score = cache[tuple(m)]
            if score is not None:
                batch[row - lo, K.EV_TEXT] = int(round(score * 1000))

    def _batch(self, ev: np.ndarray, ids: list, tss: list, offset: int,
               texts: list) -> list[Decision]:
        st = self.state
        ing = self.ingest
        n = ev.shape[0]
        st.ensure(len(ing.account_names), len(ing.entities), len(ing.groups), 2 * n,
                  ing.clock, self.config.retention * 1000)
        # an event is evidence about at most two accounts (e.g. a false report: the
        # reported account and the reporter), and an actioned registration revisits up to
        # 3 * RECENT recent ones from its entities: that bounds decisions and records
        bound = 2 * n + K.REVISITS * int(np.count_nonzero(ev[:, K.EV_TYPE] == K.REGISTRATION))
        out = np.zeros((bound, K.D_N), np.int64)
        out_score = np.zeros(bound, np.float64)
        out_sig = self._out_sig(bound)
        evflags = np.zeros(n, np.int8)
        nrec = bound if self.recorder is not None else 0
        rec = np.zeros((nrec, len(self.rules.signal_names)), np.float64)
        rec_meta = np.zeros((nrec, 3), np.int64)
        rs = self.rules
        nd, nrec = K.run_batch(ev, st.acc_t, st.acc_c, st.acc_f, st.ent_t, st.ent_c, st.groups,
                               st.pairs, st.members, st.used, self.params, rs.code, rs.consts,
                               rs.meta, rs.scores, self.reg_model, self.beh_model,
                               self.policy, out, out_score, out_sig, self.stats, self._sig,
                               self._stack, evflags, rec, rec_meta)
        self.counters["refused"] = int(self.stats[K.ST_REFUSED])
        result = []
        for k in range(nd):
            row, acc, level, stage, lo, hi, marks = (int(x) for x in out[k])
            score = float(out_score[k])
            d = Decision(ts=tss[offset + row], account=ing.account_names[acc],
                         action=ACTIONS[level], stage=RULE_STAGES[stage],
                         score=None if math.isnan(score) else round(score, 6),
                         reasons=self._reasons(lo, hi, marks, out_sig[k]),
                         event=ids[offset + row])
            self._count(d)
            result.append(d)
        if self.recorder is not None:
            self.recorder.record(self, ev, rec[:nrec], rec_meta[:nrec], ids, tss, offset)
        if self.campaigns is not None:
            batch_texts = {i - offset: m for i, m in (x for x in texts if x is not None)
                           if offset <= i < offset + n}
            self.campaigns.observe(self, ev, evflags, batch_texts, result)
        return result

    def _out_sig(self, n: int) -> np.ndarray:
        width = len(self.rules.signal_names)
        if getattr(self, "_out_sig_buf", None) is None or self._out_sig_buf.shape[0] < n:
            self._out_sig_buf = np.zeros((max(n, self.config.batch_size), width), np.float64)
        return self._out_sig_buf

    def _reasons(self, lo: int, hi: int, marks: int, sig: np.ndarray) -> list[str]:
        """Reason codes, most important first: the rules that fired (by severity), a model's
        reasons (its code and the signals that pushed its score up most) where its action is
        at least as severe, then the account's marks."""
        lo &= 2**64 - 1
        hi &= 2**64 - 1
        rules_fired = lo | ((hi & (2**61 - 1)) << 64)
        reasons = self.rules.reasons(rules_fired, marks)
        if hi & K.FIRED_REVISIT:
            # decided again when a later sign-up from the same entities was actioned
            reasons.insert(min(1, len(reasons)), "REGISTRATION_CLUSTER")
        for m in (0, 1):
            if not hi >> (62 + m) & 1 or self.model is None:
                continue
            extra = [r for r in self.model.reasons(m, sig, self.rules.signal_names)
                     if r not in reasons]
            model_level = self.model.level(m, float(sig[K.SIG_MODEL[m]]))
            rule_level = max((ACTIONS.index(r.action) for i, r in enumerate(self.rules.rules)
                              if rules_fired >> i & 1 and r.action != "mark"), default=0)
            reasons = extra + reasons if model_level >= rule_level else reasons + extra
        return reasons

    def _count(self, d: Decision) -> None:
        self.counters["decisions"] += 1
        self.counters[f"action:{d.action}"] += 1
        self.counters[f"stage:{d.stage}"] += 1

    # -- online questions ----------------------------------------------------------------
    def check_registration(self, event: Registration) -> Verdict:
        """Score a registration as if it happened now, without changing any state."""
        ing = self.ingest
        existing = ing.accounts.get(event.account)
        if existing is not None and self.state.acc_c[existing, S.C_ENF] >= LEVEL_BAN:
            return Verdict("deny", ["ACCOUNT_BANNED"], 1.0)
        rows: list = []
        scratch_ev = msgspec.structs.replace(event, account="\x00check", id=None,
                                             ts=max(event.ts, ing.clock))
        ing.probe = self._scratch_entities
        try:
            ing.append(scratch_ev, rows, [], [], [])
        finally:
            ing.probe = None
        ev = to_matrix(rows)
        self.state.ensure(len(ing.account_names), len(ing.entities), len(ing.groups), 2,
                          ing.clock, self.config.retention * 1000)
        st = self.state
        a = self._scratch
        ents = [int(e) for e in ev[0, K.EV_NB:K.EV_DEV + 1] if e >= 0]
        saved = (st.ent_t[ents].copy(), st.ent_c[ents].copy())
        for e in self._scratch_entities:  # a key never seen starts from nothing
            st.ent_t[e] = -1
            st.ent_c[e] = 0
        st.acc_t[a] = -1
        st.acc_c[a] = S._new_acc_c(1)[0]
        st.acc_f[a] = S._new_acc_f(1)[0]
        out = np.zeros((2, K.D_N), np.int64)
        out_score = np.zeros(2, np.float64)
        stats = np.zeros(K.NST, np.int64)
        rs = self.rules
        params = self.params.copy()
        params[K.P_REVISIT] = 0   # a question changes no other account
        nd, _ = K.run_batch(ev, st.acc_t, st.acc_c, st.acc_f, st.ent_t, st.ent_c, st.groups,
                            st.pairs, st.members, st.used, params, rs.code, rs.consts,
                            rs.meta, rs.scores, self.reg_model, self.beh_model, self.policy,
                            out, out_score, self._out_sig(2), stats, self._sig, self._stack,
                            np.zeros(1, np.int8), np.zeros((0, 1)), np.zeros((0, 3), np.int64))
        signals = as_dict(self._sig[: len(rs.signal_names)], rs.signal_names)
        st.ent_t[ents], st.ent_c[ents] = saved
        st.acc_t[a] = -1
        st.acc_c[a] = S._new_acc_c(1)[0]
        if nd == 0:
            return Verdict("allow", rs.reasons(0, 0), None, signals)
        level = int(out[0, K.D_LEVEL])
        action = {"ban": "deny", "restrict": "challenge", "challenge": "challenge"}.get(
            ACTIONS[level], "allow")
        score = float(out_score[0])
        reasons = self._reasons(int(out[0, K.D_FIRED_LO]), int(out[0, K.D_FIRED_HI]),
                                int(out[0, K.D_MARKS]), self._out_sig(1)[0])
        return Verdict(action, reasons, None if math.isnan(score) else score, signals)

    def account(self, name: str) -> dict | None:
        """Enforcement state and current signals of an account (None if never seen)."""
        a = self.ingest.accounts.get(name)
        if a is None or a == self._scratch or a >= self.state.acc_c.shape[0]:
            return None
        st = self.state
        sig = np.zeros(len(self.rules.signal_names), np.float64)
        K.assemble_signals(a, self.clock, st.acc_t, st.acc_c, st.acc_f, st.ent_t, st.ent_c,
                           self.reg_model, self.beh_model, K.STAGE_MESSAGING, sig)
        level = int(st.acc_c[a, S.C_ENF])
        return {
            "account": name,
            "state": ACTIONS[level],
            "stage": STAGES[int(st.acc_c[a, S.C_STAGE])] if level else None,
            "signals": as_dict(sig, self.rules.signal_names),
            "refused_attempts": int(st.acc_c[a, S.C_REFUSED]),
        }

    def apply_automatic(self, name: str, action: str, ts: int, stage: str,
                        reasons: list[str], score: float | None = None,
                        event: str | None = None) -> Decision | None:
        """An automatic decision from outside the kernel (campaigns): like a rule's, it only
        raises enforcement, and an account a person reinstated is only queued for review."""
        a = self.ingest.accounts.get(name)
        if a is None:
            return None
        level = int(self.state.acc_c[a, S.C_ENF])
        new = ACTIONS.index(action)
        if self.state.acc_c[a, S.C_FLAGS] & S.FLAG_REINSTATED:
            new = min(new, ACTIONS.index("review"))
        if new <= level:
            return None
        return self.apply_manual(name, ACTIONS[new], ts, stage, reasons, score, event)

    def apply_manual(self, name: str, action: str, ts: int, stage: str = "manual",
                     reasons: list[str] | None = None, score: float | None = None,
                     event: str | None = None) -> Decision | None:
        """A person's decision (review, appeal): set the account's enforcement directly.

        ``reinstate`` lifts any action and clears the account's contribution to the abuse
        history of its number block, network and device. Returns None when nothing changes.
        """
        if action not in ACTIONS[1:] or action == "none":
            raise ValueError(f"unknown action {action!r}")
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        ing = self.ingest
        a = ing.account(name)
        st = self.state
        st.ensure(len(ing.account_names), len(ing.entities), len(ing.groups), 0, ing.clock,
                  self.config.retention * 1000)
        level = int(st.acc_c[a, S.C_ENF])
        new = LEVEL_NONE if action == "reinstate" else ACTIONS.index(action)
        if new == level:
            return None
        st.acc_c[a, S.C_ENF] = new
        st.acc_c[a, S.C_STAGE] = STAGES.index(stage)  # rule stages share these numbers
        st.acc_t[a, S.T_ENF] = ts
        flags = int(st.acc_c[a, S.C_FLAGS])
        if action == "reinstate":
            flags &= ~S.FLAG_CHALLENGE_PENDING
            flags |= S.FLAG_REINSTATED
            if flags & S.FLAG_ACTIONED_COUNTED:
                flags &= ~S.FLAG_ACTIONED_COUNTED
                for col in (S.C_NB, S.C_IPB, S.C_DEV):
                    e = int(st.acc_c[a, col])
                    if e >= 0:
                        st.ent_c[e, S.EC_ACTIONED] -= 1
        elif new == ACTIONS.index("challenge"):
            flags |= S.FLAG_CHALLENGE_PENDING
        st.acc_c[a, S.C_FLAGS] = flags
        if new >= ACTIONS.index("restrict"):
            K.count_actioned(a, st.acc_c, st.ent_c)  # the same bookkeeping as the kernel's
        d = Decision(ts=ts, account=name, action=action, stage=stage, score=score,
                     reasons=list(reasons or []), event=event)
        self._count(d)
        return d

    # -- persistence ---------------------------------------------------------------------
    def snapshot(self, path: str | Path) -> None:
        """Write the whole engine state (arrays and key tables) to ``path`` atomically."""
        ing = self.ingest
        meta = msgspec.msgpack.encode({
            "version": 1,
            "clock": ing.clock,
            "accounts": ing.account_names,
            "groups": list(ing.groups),
            "entities": list(ing.entities),
            "platforms": list(ing.platforms),
            "seen": list(ing._seen_order),
            "seen_map": ing.seen,
            "duplicates": ing.duplicates,
            "late": ing.late,
            "counters": dict(self.counters),
            "rules": self.rules.source,
        })
        arrays = self.state.arrays()
        arrays["stats"] = self.stats
        arrays["meta"] = np.frombuffer(meta, np.uint8)
        if self.campaigns is not None:
            # The detector's memory is plain Python objects; snapshots are the engine's own
            # files, written and read by the same deployment.
            arrays["campaigns"] = np.frombuffer(pickle.dumps(self.campaigns), np.uint8)
            arrays["last_tick"] = np.array([self._last_tick], np.int64)
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        tmp.replace(path)

    @classmethod
    def restore(cls, path: str | Path, config: EngineConfig | None = None,
                rules: RuleSet | str | Path | None = None, model=None,
                text_scorer: TextScorer | None | str = "default",
                campaigns="default") -> Engine:
        """An engine that continues exactly where :meth:`snapshot` left off (campaign
        detection included, when the snapshot had it and ``campaigns`` is not None)."""
        eng = cls(config, rules, model, text_scorer, campaigns)
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
            meta = msgspec.msgpack.decode(arrays.pop("meta").tobytes())
            detector = arrays.pop("campaigns", None)
            last_tick = arrays.pop("last_tick", None)
            if detector is not None and eng.campaigns is not None:
                eng.campaigns = pickle.loads(detector.tobytes())
                eng._last_tick = int(last_tick[0])
        except (OSError, ValueError, KeyError, msgspec.DecodeError, pickle.UnpicklingError) as exc:
            raise ValueError(f"{path}: not a Seawall snapshot ({exc})") from None
        eng.stats = arrays.pop("stats")
        try:
            eng.state = S.State.from_arrays(arrays)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        ing = eng.ingest
        ing.clock = meta["clock"]
        ing.account_names = list(meta["accounts"])
        ing.accounts = {n: i for i, n in enumerate(ing.account_names)}
        ing.groups = {n: i for i, n in enumerate(meta["groups"])}
        ing.entities = {bytes(k): i for i, k in enumerate(meta["entities"])}
        ing.platforms = {n: i for i, n in enumerate(meta["platforms"])}
        ing._seen_order.extend((int(t), i) for t, i in meta["seen"])
        ing.seen = dict(meta["seen_map"])
        ing.duplicates = meta["duplicates"]
        ing.late = meta["late"]
        eng.counters = Counter(meta["counters"])
        eng._scratch = ing.accounts["\x00check"]
        eng._scratch_entities = tuple(
            ing.entities[privacy.keyed_hash(ing.secret, "nid"[k], "\x00check")] for k in range(3))
        return eng


def _load_model(model):
    """None: rules only; "default": the model shipped with the package; a path or a bundle."""
    if model is None:
        return None
    from seawall.training import ModelBundle, default_model_path, load_model

    if isinstance(model, ModelBundle):
        return model
    return load_model(default_model_path() if model == "default" else model)


def _default_campaigns():
    from seawall.campaigns import CampaignDetector

    return CampaignDetector()


def _default_text_scorer() -> TextScorer | None:
    """The shipped report-text classifier, if this installation has it."""
    try:
        from seawall.reporttext import ReportTextClassifier

        return ReportTextClassifier.load()
    except ImportError:
        return None
    except Exception as exc:  # a broken artifact must not stop the engine
        warnings.warn(f"report-text classifier unavailable: {exc}", stacklevel=2)
        return None
