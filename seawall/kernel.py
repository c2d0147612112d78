"""The hot path: one compiled pass over a micro-batch of events, in event order.

For each event: refuse it if enforcement says so; update the state of the account that
acted (and of the pair, group or entity it touched); compute the signals of the account the
event is evidence about; evaluate that stage's rules (and models); raise the account's
enforcement level and record a decision when it changes. One event is finished before the
next starts, so results never depend on how the stream was cut into batches.

Events arrive as rows of an int64 matrix (columns ``EV_*``), built by :mod:`seawall.ingest`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from seawall import state as S
from seawall.decisions import LEVEL_BAN, LEVEL_CHALLENGE, LEVEL_RESTRICT, LEVEL_REVIEW
from seawall.models import score_model
from seawall.rules import (
    ACTION_MARK,
    OP_ADD,
    OP_AND,
    OP_CONST,
    OP_DIV,
    OP_EQ,
    OP_GE,
    OP_GT,
    OP_LE,
    OP_LT,
    OP_MUL,
    OP_NE,
    OP_NEG,
    OP_NOT,
    OP_SIG,
    OP_SUB,
    OP_TRUTH,
)
from seawall.signals import NSIG, SIG_BEH_MODEL, SIG_REG_MODEL, compute
from seawall.windows import hours_add, ring_add, roll

SIG_MODEL = (SIG_REG_MODEL, SIG_BEH_MODEL)

# event row columns
EV_TYPE, EV_TS, EV_ACC, EV_PEER, EV_GROUP, EV_KIND, EV_FWD, EV_TYPED, EV_INC = range(9)
EV_NB, EV_IPB, EV_DEV, EV_CLIENT, EV_CFLAGS, EV_VERIF, EV_BUSINESS, EV_REMOVED = range(9, 17)
EV_TEXT = 17
EV_N = 18
# event types, in the order of seawall.events.EVENT_TYPES
REGISTRATION, SESSION, MESSAGE, GROUP_CREATE, GROUP_ADD, GROUP_LEAVE, REPORT, BLOCK = range(8)
KIND_TEXT, KIND_MEDIA, KIND_LINK, KIND_VOICE, KIND_OTHER = range(5)
# rule stages
STAGE_REGISTRATION, STAGE_MESSAGING, STAGE_FEEDBACK = 0, 1, 2
# parameters (seawall.engine.EngineConfig fills them)
P_REPLY_WINDOW, P_LEAVE_WINDOW, P_GAP_MAX, P_GAP_ALPHA = 0, 1, 2, 3
P_W_STRANGER, P_W_YOUNG, P_YOUNG_AGE, P_W_PROLIFIC, P_PROLIFIC, P_W_UNRECEIVED = 4, 5, 6, 7, 8, 9
P_TEXT_MIN, P_TEXT_MAX = 10, 11
P_REVISIT = 12   # ms: an actioned sign-up revisits registrations this recent from its entities
NP = 13
REVISITS = 3 * S.RECENT   # most accounts one registration can revisit
FIRED_REVISIT = 1 << 61   # in D_FIRED_HI: decided on revisit, at a later sign-up's event
# decision output columns
D_ROW, D_ACC, D_LEVEL, D_STAGE, D_FIRED_LO, D_FIRED_HI, D_MARKS = range(7)
D_N = 7
# counters
ST_REFUSED = 0
NST = 4
# per-event flags the kernel reports back (for campaign detection and training)
EVF_FIRST_CONTACT = 1   # a message that was a first contact
EVF_STRANGER = 2        # ... to someone without the sender in contacts
EVF_REFUSED = 4         # refused because of enforcement
EVF_REPLY = 8           # a message that answered the peer's first contact
EVF_CREDIBLE = 16       # a report or block from someone who received something

H = 3_600_000
DAY = 24 * H
_W1M = np.array([S.W1M_MSGS])
_W10M = np.array([S.W10M_MSGS])
_W1H = np.array([S.W1H_MSGS, S.W1H_FC, S.W1H_GROUPS, S.W1H_ADDS, S.W1H_REPLIES])
_W24H = np.array([S.W24H_MSGS, S.W24H_FC, S.W24H_RCPT, S.W24H_GROUPS, S.W24H_ADDS,
                  S.W24H_FILED])
_E1H = np.array([S.EW1H_REGS, S.EW1H_RISKY])
_E24H = np.array([S.EW24H_REGS])


@njit(cache=True, inline="always")
def _pair_key(a, b):
    return (a << 31) | b


@njit(cache=True, inline="always")
def _touch(a, t, acc_t, acc_c):
    """First sight of an account, and roll its windows to ``t`` before counting."""
    if acc_t[a, S.T_FIRST] < 0:
        acc_t[a, S.T_FIRST] = t
    roll(acc_c, acc_t, a, S.T_B1M, _W1M, t, 60_000)
    roll(acc_c, acc_t, a, S.T_B10M, _W10M, t, 600_000)
    roll(acc_c, acc_t, a, S.T_B1H, _W1H, t, H)
    roll(acc_c, acc_t, a, S.T_B24H, _W24H, t, DAY)


@njit(cache=True, inline="always")
def _claim(table, key, t, used):
    """Slot of ``key`` in ``table``, inserting an empty entry if absent."""
    i = S.slot_of(table, key)
    if table[i, S.K_KEY] != key:
        table[i, S.K_KEY] = key
        table[i, S.K_FLAGS] = 0
        table[i, 2] = t
        table[i, 3] = t
        used += 1
    return i, used


@njit(cache=True)
def _truth(x):
    return x == x and x != 0.0


@njit(cache=True)
def _run(code, consts, start, end, sig, stack):
    """Evaluate one rule's bytecode (a stack machine over float64; NaN means unknown)."""
    sp = 0
    for pc in range(start, end):
        op = code[pc, 0]
        if op == OP_SIG:
            stack[sp] = sig[code[pc, 1]]
            sp += 1
        elif op == OP_CONST:
            stack[sp] = consts[code[pc, 1]]
            sp += 1
        elif op == OP_NOT:
            stack[sp - 1] = 0.0 if _truth(stack[sp - 1]) else 1.0
        elif op == OP_NEG:
            stack[sp - 1] = -stack[sp - 1]
        elif op == OP_TRUTH:
            stack[sp - 1] = 1.0 if _truth(stack[sp - 1]) else 0.0
        else:
            sp -= 1
            x = stack[sp - 1]
            y = stack[sp]
            if op == OP_ADD:
                r = x + y
            elif op == OP_SUB:
                r = x - y
            elif op == OP_MUL:
                r = x * y
            elif op == OP_DIV:
                r = x / y if y != 0.0 else np.nan
            elif op == OP_LT:
                r = 1.0 if x < y else 0.0
            elif op == OP_LE:
                r = 1.0 if x <= y else 0.0
            elif op == OP_GT:
                r = 1.0 if x > y else 0.0
            elif op == OP_GE:
                r = 1.0 if x >= y else 0.0
            elif op == OP_EQ:
                r = 1.0 if x == y else 0.0
            elif op == OP_NE:
                r = 1.0 if (x == x and y == y and x != y) else 0.0
            elif op == OP_AND:
                r = 1.0 if (_truth(x) and _truth(y)) else 0.0
            else:  # OP_OR
                r = 1.0 if (_truth(x) or _truth(y)) else 0.0
            stack[sp - 1] = r
    return _truth(stack[0])


@njit(cache=True)
def _refuse(ev, i, a, t, acc_c, stats, evflags, pairs, pairs_used, members, members_used):
    """Count a refused event. A refused one-to-one message still leaves a trace in the pair
    table: a platform that acts on decisions late may have delivered it, and a report about
    it must not look like a false report."""
    acc_c[a, S.C_REFUSED] += 1
    stats[ST_REFUSED] += 1
    evflags[i] = EVF_REFUSED
    b = ev[i, EV_PEER]
    if ev[i, EV_TYPE] == MESSAGE and b >= 0:
        s, pairs_used = _claim(pairs, _pair_key(a, b), t, pairs_used)
        pairs[s, S.K_FLAGS] |= S.PAIR_ATTEMPT
        pairs[s, S.K_LAST] = t
    elif ev[i, EV_TYPE] == GROUP_ADD:
        # the same for a refused group add: the person may have seen the group
        s, members_used = _claim(members, _pair_key(ev[i, EV_GROUP], b), t, members_used)
        if members[s, S.K_FLAGS] == 0:
            members[s, S.K_FLAGS] = S.MEMBER_ATTEMPT
            members[s, S.M_ADDER] = a
    return pairs_used, members_used


@njit(cache=True)
def count_actioned(a, acc_c, ent_c):
    """An account was banned or restricted: its registration entities carry the history."""
    if acc_c[a, S.C_FLAGS] & S.FLAG_ACTIONED_COUNTED:
        return
    acc_c[a, S.C_FLAGS] |= S.FLAG_ACTIONED_COUNTED
    for col in (S.C_NB, S.C_IPB, S.C_DEV):
        e = acc_c[a, col]
        if e >= 0:
            ent_c[e, S.EC_ACTIONED] += 1


@njit(cache=True)
def assemble_signals(a, t, acc_t, acc_c, acc_f, ent_t, ent_c, reg_model, beh_model, stage, sig):
    """The full signal vector the rules read: catalogue signals, model scores, marks."""
    compute(a, t, acc_t, acc_c, acc_f, ent_t, ent_c, sig)
    if reg_model[0].shape[0] > 0:
        # scored once, at sign-up, on what was known then; read back afterwards
        if stage == STAGE_REGISTRATION:
            acc_f[a, S.F_REG_MODEL] = score_model(reg_model, sig)
        sig[SIG_REG_MODEL] = acc_f[a, S.F_REG_MODEL]
    if beh_model[0].shape[0] > 0 and stage != STAGE_REGISTRATION:
        sig[SIG_BEH_MODEL] = score_model(beh_model, sig)
    marks = acc_c[a, S.C_MARKS]
    for k in range(sig.shape[0] - NSIG):
        sig[NSIG + k] = 1.0 if (marks >> k) & 1 else 0.0


@njit(cache=True)
def _decide(i, t, target, stage, acc_t, acc_c, acc_f, ent_t, ent_c, code, consts, meta, scores,
            reg_model, beh_model, policy, out, out_score, out_sig, sig, stack, rec, rec_meta,
            nd, nrec):
    """Signals of ``target`` -> the stage's rules and model -> a decision if the level rises."""
    if acc_c[target, S.C_ENF] >= LEVEL_BAN:
        return nd, nrec
    assemble_signals(target, t, acc_t, acc_c, acc_f, ent_t, ent_c, reg_model, beh_model,
                     stage, sig)
    if rec.shape[0] > 0:
        rec[nrec, :] = sig[: rec.shape[1]]
        rec_meta[nrec, 0] = i
        rec_meta[nrec, 1] = target
        rec_meta[nrec, 2] = stage
        nrec += 1
    marks = acc_c[target, S.C_MARKS]
    best = 0
    best_score = np.nan
    fired_lo = 0
    fired_hi = 0
    for r in range(meta.shape[0]):
        if meta[r, 2] != stage:
            continue
        if not _run(code, consts, meta[r, 0], meta[r, 1], sig, stack):
            continue
        if r < 64:
            fired_lo |= 1 << r
        else:
            fired_hi |= 1 << (r - 64)
        act = meta[r, 3]
        if act == ACTION_MARK:
            marks |= 1 << meta[r, 4]
            sig[NSIG + meta[r, 4]] = 1.0
        elif act > best or (act == best and scores[r] > best_score):
            best = act
            best_score = scores[r]
    # learned models: calibrated score against the thresholds stored with the model
    m = 0 if stage == STAGE_REGISTRATION else 1
    s = sig[SIG_REG_MODEL] if m == 0 else sig[SIG_BEH_MODEL]
    if s == s:
        for lvl in range(LEVEL_BAN, 0, -1):
            if s >= policy[m, lvl]:
                fired_hi |= 1 << (62 + m)
                if lvl > best:
                    best = lvl
                    best_score = s
                break
    acc_c[target, S.C_MARKS] = marks
    if acc_c[target, S.C_FLAGS] & S.FLAG_REINSTATED:
        best = min(best, LEVEL_REVIEW)  # a person cleared it: queue, do not act again
    if best <= acc_c[target, S.C_ENF]:
        return nd, nrec
    acc_c[target, S.C_ENF] = best
    acc_c[target, S.C_STAGE] = stage
    acc_t[target, S.T_ENF] = t
    if best == LEVEL_CHALLENGE:
        acc_c[target, S.C_FLAGS] |= S.FLAG_CHALLENGE_PENDING
    if best >= LEVEL_RESTRICT:
        count_actioned(target, acc_c, ent_c)
    out[nd, D_ROW] = i
    out[nd, D_ACC] = target
    out[nd, D_LEVEL] = best
    out[nd, D_STAGE] = stage
    out[nd, D_FIRED_LO] = fired_lo
    out[nd, D_FIRED_HI] = fired_hi
    out[nd, D_MARKS] = marks
    out_score[nd] = best_score
    out_sig[nd, :] = sig
    nd += 1
    return nd, nrec


@njit(cache=True)
def _revisit(i, t, a, window, acc_t, acc_c, acc_f, ent_t, ent_c, code, consts, meta, scores,
             reg_model, beh_model, policy, out, out_score, out_sig, sig, stack, rec, rec_meta,
             nd, nrec):
    """Sign-up ``a`` was just banned or restricted: the registrations shortly before it from
    the same number block, network or device are decided again at the registration stage,
    on what is known now (a farm's first accounts look harmless until the third arrives).
    Each is judged on its own signals by the same rules; the revisit only gives them the
    chance."""
    seen = np.full(REVISITS, -1, np.int64)
    ns = 0
    for col in (S.C_NB, S.C_IPB, S.C_DEV):
        e = acc_c[a, col]
        if e < 0:
            continue
        for k in range(min(ent_c[e, S.EC_REGISTERED], S.RECENT)):
            b = ent_c[e, S.EC_RECENT + k]
            if b == a or acc_c[b, S.C_ENF] >= LEVEL_RESTRICT:
                continue
            reg = acc_t[b, S.T_REG]
            if reg < 0 or t - reg > window:
                continue
            dup = False
            for j in range(ns):
                if seen[j] == b:
                    dup = True
            if dup:
                continue
            seen[ns] = b
            ns += 1
            before = nd
            nd, nrec = _decide(i, t, b, STAGE_REGISTRATION, acc_t, acc_c, acc_f, ent_t, ent_c,
                               code, consts, meta, scores, reg_model, beh_model, policy, out,
                               out_score, out_sig, sig, stack, rec, rec_meta, nd, nrec)
            if nd > before:
                out[before, D_FIRED_HI] |= FIRED_REVISIT
    return nd, nrec


@njit(cache=True)
def run_batch(ev, acc_t, acc_c, acc_f, ent_t, ent_c, groups, pairs, members, used,
              params, code, consts, meta, scores, reg_model, beh_model, policy, out,
              out_score, out_sig, stats, sig, stack, evflags, rec, rec_meta):
    """Process every row of ``ev`` in order.

    ``policy[m, level]`` is the score threshold of model ``m`` (0 registration, 1 behaviour)
    for each enforcement level (NaN: never). Writes decisions to ``out``/``out_score`` (and
    the signal vector behind each to ``out_sig``) and per-event flags (``EVF_*``) to
    ``evflags``; when ``rec`` has rows, also records the signal vector each event produced
    for the account it was evidence about (``rec_meta``: row, account, stage), which is how
    training sees exactly what rules see. Returns ``(decisions, recorded)``.
    """
    nd = 0
    nrec = 0
    pairs_used = used[0]
    members_used = used[1]
    for i in range(ev.shape[0]):
        etype = ev[i, EV_TYPE]
        t = ev[i, EV_TS]
        a = ev[i, EV_ACC]
        level = acc_c[a, S.C_ENF]
        if level >= LEVEL_BAN:
            pairs_used, members_used = _refuse(
                ev, i, a, t, acc_c, stats, evflags, pairs, pairs_used, members, members_used)
            continue
        _touch(a, t, acc_t, acc_c)
        target = -1
        stage = STAGE_MESSAGING
        second = -1  # a second account the event is evidence about (a false reporter)

        if etype == MESSAGE:
            if acc_c[a, S.C_FLAGS] & S.FLAG_CHALLENGE_PENDING:
                pairs_used, members_used = _refuse(
                    ev, i, a, t, acc_c, stats, evflags, pairs, pairs_used, members, members_used)
                continue
            b = ev[i, EV_PEER]
            if b >= 0:
                kab = _pair_key(a, b)
                kba = _pair_key(b, a)
                sab = S.slot_of(pairs, kab)
                sba = S.slot_of(pairs, kba)
                ab_msg = pairs[sab, S.K_KEY] == kab and pairs[sab, S.K_FLAGS] & S.PAIR_MSG
                ba_msg = pairs[sba, S.K_KEY] == kba and pairs[sba, S.K_FLAGS] & S.PAIR_MSG
                first = not ab_msg and not ba_msg
                if first and level == LEVEL_RESTRICT:
                    pairs_used, members_used = _refuse(ev, i, a, t, acc_c, stats, evflags, pairs,
                                                       pairs_used, members, members_used)
                    continue
                sab, pairs_used = _claim(pairs, kab, t, pairs_used)
                flags = pairs[sab, S.K_FLAGS]
                if not ab_msg:
                    flags |= S.PAIR_MSG
                    pairs[sab, S.K_FIRST] = t
                    acc_c[a, S.C_REACHED] += 1
                    acc_c[a, S.W24H_RCPT + 1] += 1
                    if first:
                        evflags[i] |= EVF_FIRST_CONTACT
                        if acc_t[a, S.T_TAKEOVER] >= 0:
                            acc_c[a, S.C_FC_SINCE_TAKEOVER] += 1
                        flags |= S.PAIR_FIRST
                        acc_c[a, S.C_FC] += 1
                        acc_c[a, S.W1H_FC + 1] += 1
                        acc_c[a, S.W24H_FC + 1] += 1
                        inc = ev[i, EV_INC]
                        if inc >= 0:
                            acc_c[a, S.C_FC_KNOWN] += 1
                            if inc == 0:
                                acc_c[a, S.C_FC_STRANGER] += 1
                                flags |= S.PAIR_STRANGER
                                evflags[i] |= EVF_STRANGER
                elif pairs[sab, S.K_LAST] < t - DAY:
                    acc_c[a, S.W24H_RCPT + 1] += 1
                pairs[sab, S.K_FLAGS] = flags
                pairs[sab, S.K_LAST] = t
                if ba_msg:
                    fba = pairs[sba, S.K_FLAGS]
                    if (fba & S.PAIR_FIRST and not fba & S.PAIR_REPLIED
                            and t - pairs[sba, S.K_FIRST] <= params[P_REPLY_WINDOW]):
                        pairs[sba, S.K_FLAGS] = fba | S.PAIR_REPLIED
                        acc_c[b, S.C_REPLIES] += 1
                        _touch(b, t, acc_t, acc_c)
                        acc_c[b, S.W1H_REPLIES + 1] += 1
                        evflags[i] |= EVF_REPLY
                    pairs[sba, S.K_LAST] = max(pairs[sba, S.K_LAST], t)
            else:
                g = ev[i, EV_GROUP]
                acc_c[a, S.C_GROUP_MSGS] += 1
                sm, members_used = _claim(members, _pair_key(g, a), t, members_used)
                if members[sm, S.K_FLAGS] == 0:
                    members[sm, S.K_FLAGS] = S.MEMBER_IN
                    members[sm, S.M_ADDER] = -1
            acc_c[a, S.C_MSGS] += 1
            acc_c[a, S.W1M_MSGS + 1] += 1
            acc_c[a, S.W10M_MSGS + 1] += 1
            acc_c[a, S.W1H_MSGS + 1] += 1
            acc_c[a, S.W24H_MSGS + 1] += 1
            ring_add(acc_c, acc_t, a, S.C_RING, S.T_RING, t)
            typed = ev[i, EV_TYPED]
            if typed >= 0:
                acc_c[a, S.C_TYPED_KNOWN] += 1
                acc_c[a, S.C_TYPED] += typed
            kind = ev[i, EV_KIND]
            if kind == KIND_LINK:
                acc_c[a, S.C_LINKS] += 1
            elif kind == KIND_MEDIA:
                acc_c[a, S.C_MEDIA] += 1
            if ev[i, EV_FWD] > 0:
                acc_c[a, S.C_FORWARDED] += 1
            last = acc_t[a, S.T_LAST_MSG]
            if last >= 0 and t - last <= params[P_GAP_MAX]:
                # Exponentially weighted mean and variance (Finch 2009, "Incremental
                # calculation of weighted mean and variance").
                gap = (t - last) / 1000.0
                if acc_c[a, S.C_GAPS] == 0:
                    acc_f[a, S.F_GAP_MEAN] = gap
                    acc_f[a, S.F_GAP_VAR] = 0.0
                else:
                    alpha = params[P_GAP_ALPHA]
                    diff = gap - acc_f[a, S.F_GAP_MEAN]
                    incr = alpha * diff
                    acc_f[a, S.F_GAP_MEAN] += incr
                    acc_f[a, S.F_GAP_VAR] = (1.0 - alpha) * (acc_f[a, S.F_GAP_VAR] + diff * incr)
                acc_c[a, S.C_GAPS] += 1
            acc_t[a, S.T_LAST_MSG] = t
            mask, hour = hours_add(acc_c[a, S.C_HOURS], acc_t[a, S.T_HOUR], t)
            acc_c[a, S.C_HOURS] = mask
            acc_t[a, S.T_HOUR] = hour
            if acc_t[a, S.T_TAKEOVER] >= 0:
                acc_c[a, S.C_SINCE_TAKEOVER] += 1
                if typed == 0:
                    acc_c[a, S.C_UNTYPED_SINCE_TAKEOVER] += 1
            target = a

        elif etype == REGISTRATION:
            if acc_t[a, S.T_REG] < 0:
                acc_t[a, S.T_REG] = t
            risky = (ev[i, EV_CFLAGS] & (S.CLIENT_UNOFFICIAL | S.CLIENT_OUTDATED)) != 0 \
                or ev[i, EV_VERIF] == S.VERIF_NONE
            for col, ecol in ((S.C_NB, EV_NB), (S.C_IPB, EV_IPB), (S.C_DEV, EV_DEV)):
                e = ev[i, ecol]
                acc_c[a, col] = e
                if e >= 0:
                    roll(ent_c, ent_t, e, S.E_B1H, _E1H, t, H)
                    roll(ent_c, ent_t, e, S.E_B24H, _E24H, t, DAY)
                    ent_c[e, S.EW1H_REGS + 1] += 1
                    ent_c[e, S.EW24H_REGS + 1] += 1
                    if risky:
                        ent_c[e, S.EW1H_RISKY + 1] += 1
                    ent_c[e, S.EC_RECENT + ent_c[e, S.EC_REGISTERED] % S.RECENT] = a
                    ent_c[e, S.EC_REGISTERED] += 1
            acc_c[a, S.C_CLIENT_FLAGS] = ev[i, EV_CFLAGS]
            acc_c[a, S.C_VERIFICATION] = ev[i, EV_VERIF]
            if ev[i, EV_BUSINESS]:
                acc_c[a, S.C_FLAGS] |= S.FLAG_BUSINESS
            acc_c[a, S.C_CUR_IPB] = ev[i, EV_IPB]
            acc_c[a, S.C_CUR_DEV] = ev[i, EV_DEV]
            acc_c[a, S.C_CUR_CLIENT] = ev[i, EV_CLIENT]
            target = a
            stage = STAGE_REGISTRATION

        elif etype == SESSION:
            ipb = ev[i, EV_IPB]
            dev = ev[i, EV_DEV]
            cli = ev[i, EV_CLIENT]
            kipb = acc_c[a, S.C_CUR_IPB]
            kdev = acc_c[a, S.C_CUR_DEV]
            kcli = acc_c[a, S.C_CUR_CLIENT]
            complete = ipb >= 0 and dev >= 0 and cli >= 0
            changed = (kipb >= 0 and kdev >= 0 and kcli >= 0
                       and ipb != kipb and dev != kdev and cli != kcli)
            # No identity known yet but a day of history (the engine started after this
            # account did): the first complete session counts as a change.
            unknown = (kipb < 0 and kdev < 0 and kcli < 0 and acc_t[a, S.T_REG] < 0
                       and t - acc_t[a, S.T_FIRST] >= DAY)
            if complete and (changed or unknown):
                acc_t[a, S.T_TAKEOVER] = t
                acc_c[a, S.C_SINCE_TAKEOVER] = 0
                acc_c[a, S.C_FC_SINCE_TAKEOVER] = 0
                acc_c[a, S.C_UNTYPED_SINCE_TAKEOVER] = 0
                acc_f[a, S.F_BASELINE] = (acc_c[a, S.W24H_MSGS] + acc_c[a, S.W24H_MSGS + 1]) / 48.0
            if ipb >= 0:
                acc_c[a, S.C_CUR_IPB] = ipb
            if dev >= 0:
                acc_c[a, S.C_CUR_DEV] = dev
            if cli >= 0:
                acc_c[a, S.C_CUR_CLIENT] = cli
            # a new session is where the platform re-verifies a challenged account
            acc_c[a, S.C_FLAGS] &= ~S.FLAG_CHALLENGE_PENDING
            target = a

        elif etype == GROUP_CREATE:
            if level == LEVEL_RESTRICT:
                pairs_used, members_used = _refuse(
                    ev, i, a, t, acc_c, stats, evflags, pairs, pairs_used, members, members_used)
                continue
            g = ev[i, EV_GROUP]
            if groups[g, S.G_CREATOR] < 0:
                groups[g, S.G_CREATOR] = a
                groups[g, S.G_CREATED] = t
            sm, members_used = _claim(members, _pair_key(g, a), t, members_used)
            if not members[sm, S.K_FLAGS] & S.MEMBER_IN:
                members[sm, S.K_FLAGS] = S.MEMBER_IN
                members[sm, S.M_ADDER] = -1
                groups[g, S.G_MEMBERS] += 1
            acc_c[a, S.C_GROUPS] += 1
            acc_c[a, S.W1H_GROUPS + 1] += 1
            acc_c[a, S.W24H_GROUPS + 1] += 1
            target = a

        elif etype == GROUP_ADD:
            if level == LEVEL_RESTRICT or acc_c[a, S.C_FLAGS] & S.FLAG_CHALLENGE_PENDING:
                pairs_used, members_used = _refuse(
                    ev, i, a, t, acc_c, stats, evflags, pairs, pairs_used, members, members_used)
                continue
            g = ev[i, EV_GROUP]
            p = ev[i, EV_PEER]
            sm, members_used = _claim(members, _pair_key(g, p), t, members_used)
            if not members[sm, S.K_FLAGS] & S.MEMBER_IN:
                inc = ev[i, EV_INC]
                f = S.MEMBER_IN
                if inc == 0:
                    f |= S.MEMBER_STRANGER
                members[sm, S.K_FLAGS] = f
                members[sm, S.M_ADDED] = t
                members[sm, S.M_ADDER] = a
                groups[g, S.G_MEMBERS] += 1
                acc_c[a, S.C_ADDS] += 1
                acc_c[a, S.W1H_ADDS + 1] += 1
                acc_c[a, S.W24H_ADDS + 1] += 1
                if inc >= 0:
                    acc_c[a, S.C_ADDS_KNOWN] += 1
                    if inc == 0:
                        acc_c[a, S.C_ADDS_STRANGER] += 1
            target = a

        elif etype == GROUP_LEAVE:
            g = ev[i, EV_GROUP]
            sm = S.slot_of(members, _pair_key(g, a))
            if members[sm, S.K_KEY] == _pair_key(g, a) and members[sm, S.K_FLAGS] & S.MEMBER_IN:
                members[sm, S.K_FLAGS] = (members[sm, S.K_FLAGS] & ~S.MEMBER_IN) | S.MEMBER_LEFT
                groups[g, S.G_MEMBERS] -= 1
                adder = members[sm, S.M_ADDER]
                if (adder >= 0 and adder != a and not ev[i, EV_REMOVED]
                        and t - members[sm, S.M_ADDED] <= params[P_LEAVE_WINDOW]):
                    acc_c[adder, S.C_ADDED_LEFT] += 1
                    target = adder

        elif etype == REPORT or etype == BLOCK:
            p = ev[i, EV_PEER]
            report = etype == REPORT
            if report:
                acc_c[a, S.C_FILED] += 1
                acc_c[a, S.W24H_FILED + 1] += 1
            flag = S.PAIR_REPORTED if report else S.PAIR_BLOCKED
            sp, pairs_used = _claim(pairs, _pair_key(p, a), t, pairs_used)
            flags = pairs[sp, S.K_FLAGS]
            if not flags & flag:
                pairs[sp, S.K_FLAGS] = flags | flag
                pairs[sp, S.K_LAST] = t
                received = flags & (S.PAIR_MSG | S.PAIR_ATTEMPT) != 0
                g = ev[i, EV_GROUP]
                if not received and g >= 0:
                    sm = S.slot_of(members, _pair_key(g, a))
                    received = members[sm, S.K_KEY] == _pair_key(g, a)
                w = params[P_W_UNRECEIVED]
                if received:
                    evflags[i] |= EVF_CREDIBLE
                    w = 1.0
                    if flags & S.PAIR_STRANGER:
                        w *= params[P_W_STRANGER]
                    reg = acc_t[a, S.T_REG]
                    if reg >= 0 and t - reg < params[P_YOUNG_AGE]:
                        w *= params[P_W_YOUNG]
                    filed = acc_c[a, S.W24H_FILED] + acc_c[a, S.W24H_FILED + 1]
                    if filed > params[P_PROLIFIC]:
                        w *= params[P_W_PROLIFIC]
                    text = ev[i, EV_TEXT]
                    if report and text >= 0:
                        lo = params[P_TEXT_MIN]
                        w *= lo + (params[P_TEXT_MAX] - lo) * text / 1000.0
                if report:
                    acc_c[p, S.C_REPORTERS] += 1
                    acc_f[p, S.F_REPORTS_W] += w
                    if received:
                        acc_c[p, S.C_CRED_REPORTERS] += 1
                    else:
                        # the reporter joins a crowd of people reporting someone who never
                        # wrote to them: remember the largest such crowd it joined
                        crowd = acc_c[p, S.C_REPORTERS] - acc_c[p, S.C_CRED_REPORTERS]
                        acc_c[a, S.C_CROWD] = max(acc_c[a, S.C_CROWD], crowd)
                        second = a
                else:
                    acc_c[p, S.C_BLOCKERS] += 1
                    acc_f[p, S.F_BLOCKS_W] += w
                    if received:
                        acc_c[p, S.C_CRED_BLOCKERS] += 1
            target = p
            stage = STAGE_FEEDBACK

        # --- signals -> rules and models -> policy ----------------------------------------
        if target >= 0:
            nd, nrec = _decide(i, t, target, stage, acc_t, acc_c, acc_f, ent_t, ent_c, code,
                               consts, meta, scores, reg_model, beh_model, policy, out,
                               out_score, out_sig, sig, stack, rec, rec_meta, nd, nrec)
            if (stage == STAGE_REGISTRATION and acc_c[target, S.C_ENF] >= LEVEL_RESTRICT
                    and params[P_REVISIT] > 0):
                nd, nrec = _revisit(i, t, target, params[P_REVISIT], acc_t, acc_c, acc_f,
                                    ent_t, ent_c, code, consts, meta, scores, reg_model,
                                    beh_model, policy, out, out_score, out_sig, sig, stack,
                                    rec, rec_meta, nd, nrec)
        if second >= 0:
            nd, nrec = _decide(i, t, second, STAGE_MESSAGING, acc_t, acc_c, acc_f, ent_t, ent_c,
                               code, consts, meta, scores, reg_model, beh_model, policy, out,
                               out_score, out_sig, sig, stack, rec, rec_meta, nd, nrec)
    used[0] = pairs_used
    used[1] = members_used
    return nd, nrec
