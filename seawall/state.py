"""Engine state: fixed-width rows per account and per entity, and two keyed hash tables.

Everything the engine remembers is here, laid out for the compiled hot path:

* ``acc_t`` (int64) and ``acc_c`` (int32) and ``acc_f`` (float32): one row per account, the
  columns named below. The row width is fixed, so memory per account is bounded (see
  :func:`bytes_per_account`); counters roll over in event time instead of growing.
* ``ent_t``/``ent_c``: one row per entity (a phone-number block, an IP block, a device),
  keyed by a keyed hash, never by the raw number or address (see :mod:`seawall.privacy`).
* ``pairs``: open-addressing table keyed by (account, peer), holding who contacted whom
  first, replies, reports and blocks. ``members``: (group, member) with who added whom.
  Entries not touched for ``retention`` age out when the table is rebuilt.
* ``groups``: one row per group.

All state is keyed by account, entity, pair or group, so a shard that owns a range of keys
can run the same update code (see docs/architecture.md).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# --- account int64 columns (times in ms; -1 = never) -------------------------------------
T_REG = 0          # registration time
T_FIRST = 1        # first event seen
T_LAST_MSG = 2     # last message sent
T_TAKEOVER = 3     # last session that looked like a takeover
T_ENF = 4          # last enforcement change
T_B1M = 5          # current bucket of the 1-minute window
T_B10M = 6
T_B1H = 7
T_B24H = 8
T_RING = 9         # second of the newest slot of the 15-second ring
T_HOUR = 10        # newest hour in the active-hours mask
NT = 11

# --- account int32 columns ------------------------------------------------------------
C_RING = 0         # 15 one-second slots: messages in the last 15 s
# two-bucket window counters: column k = previous bucket, k + 1 = current bucket
W1M_MSGS = 15
W10M_MSGS = 17
W1H_MSGS = 19
W1H_FC = 21        # first contacts
W1H_GROUPS = 23    # groups created
W1H_ADDS = 25      # members added to groups
W24H_MSGS = 27
W24H_FC = 29
W24H_RCPT = 31     # distinct recipients (a recipient counts again after 24 h of silence)
W24H_GROUPS = 33
W24H_ADDS = 35
W24H_FILED = 37    # reports this account filed
# lifetime counters (since first seen)
C_MSGS = 39
C_FC = 40          # first contacts: peers with no conversation before
C_FC_KNOWN = 41    # first contacts where the recipient's address book is known
C_FC_STRANGER = 42 # ... and the recipient does not have the sender in contacts
C_REPLIES = 43     # first contacts that answered within the reply window
C_TYPED = 44
C_TYPED_KNOWN = 45
C_LINKS = 46
C_MEDIA = 47
C_FORWARDED = 48
C_GROUP_MSGS = 49
C_GROUPS = 50
C_ADDS = 51
C_ADDS_KNOWN = 52
C_ADDS_STRANGER = 53
C_ADDED_LEFT = 54  # members this account added who left soon after
C_REPORTERS = 55
C_CRED_REPORTERS = 56
C_BLOCKERS = 57
C_CRED_BLOCKERS = 58
C_FILED = 59
C_REFUSED = 60     # events refused because of enforcement
C_SINCE_TAKEOVER = 61  # messages since the last takeover-like session
C_REACHED = 62     # distinct people messaged one to one
C_ENF = 63         # enforcement level (see seawall.decisions)
C_STAGE = 64
C_FLAGS = 65
C_MARKS = 66       # bit per `mark` rule that fired
C_NB = 67          # entities at registration: number block, IP block, device (-1 none)
C_IPB = 68
C_DEV = 69
C_CLIENT_FLAGS = 70
C_VERIFICATION = 71
C_HOURS = 72       # active-hours mask
C_GAPS = 73        # inter-message gaps seen
C_CUR_IPB = 74     # identity of the latest session: IP block, device, client platform
C_CUR_DEV = 75
C_CUR_CLIENT = 76
C_CAMPAIGN = 77     # 1 + number of the campaign the account belongs to (0: none)
C_FC_SINCE_TAKEOVER = 78
C_CROWD = 79        # largest crowd of non-recipient reporters this account joined
W1H_REPLIES = 80   # window counter (2 columns): answers to this account's first contacts
C_UNTYPED_SINCE_TAKEOVER = 82
NC = 83

# --- account float32 columns -----------------------------------------------------------
F_GAP_MEAN = 0     # exponentially weighted mean of inter-message gaps (s)
F_GAP_VAR = 1      # ... and variance
F_REPORTS_W = 2    # credibility-weighted reports received
F_BLOCKS_W = 3
F_BASELINE = 4     # messages per hour before the last takeover-like session
F_REG_MODEL = 5    # the registration model's score at sign-up (NaN: none)
NF = 6

# account flags (C_FLAGS)
FLAG_CHALLENGE_PENDING = 1
FLAG_ACTIONED_COUNTED = 2
FLAG_BUSINESS = 4
FLAG_REINSTATED = 8   # a person lifted an action: automatic ones stop at `review`

# registration verification (C_VERIFICATION; -1: not given)
VERIF_SMS, VERIF_VOICE, VERIF_NONE = 0, 1, 2

# client flags (C_CLIENT_FLAGS)
CLIENT_UNOFFICIAL = 1
CLIENT_OUTDATED = 2
CLIENT_BUSINESS_API = 4
CLIENT_KNOWN = 8
CLIENT_AUTOMATION = 16   # a known automation library, not a person's app

# --- entity columns ----------------------------------------------------------------------
E_B1H = 0
E_B24H = 1
NET = 2
EW1H_REGS = 0
EW24H_REGS = 2
EC_REGISTERED = 4
EC_ACTIONED = 5
EC_CAMPAIGN = 6    # 1 + number of an active campaign that registered here (0: none)
EW1H_RISKY = 7     # registrations with a modified/outdated client or no verification, 1 h
EC_RECENT = 9      # the last RECENT accounts registered here (a ring, by EC_REGISTERED)
RECENT = 4
NEC = EC_RECENT + RECENT
ENTITY_NUMBER_BLOCK = 0
ENTITY_IP_BLOCK = 1
ENTITY_DEVICE = 2

# --- pair table: (account << 31 | peer) -> flags, first ts, last ts ------------------------
K_KEY = 0
K_FLAGS = 1
K_FIRST = 2
K_LAST = 3
PAIR_MSG = 1            # account messaged peer
PAIR_FIRST = 2          # ... and that was a first contact
PAIR_STRANGER = 4       # ... to someone who did not have the account in contacts
PAIR_REPLIED = 8        # peer answered within the reply window
PAIR_REPORTED = 16      # peer reported account
PAIR_BLOCKED = 32       # peer blocked account
PAIR_ATTEMPT = 64       # account tried to message peer but the message was refused
# membership table: (group << 31 | member) -> flags, added ts, adder
M_ADDED = 2
M_ADDER = 3
MEMBER_IN = 1
MEMBER_LEFT = 2
MEMBER_STRANGER = 4
MEMBER_ATTEMPT = 8      # a refused add: the person may have seen the group
# groups
G_CREATOR = 0
G_CREATED = 1
G_MEMBERS = 2
NG = 3

EMPTY = -1


def bytes_per_account() -> int:
    """Fixed state per account row, in bytes."""
    return NT * 8 + NC * 4 + NF * 4


class State:
    """All arrays of the engine, with growth and snapshot helpers."""

    def __init__(self, accounts: int = 1024, entities: int = 256, groups: int = 256,
                 pairs: int = 4096, members: int = 1024) -> None:
        self.acc_t = _new_acc_t(accounts)
        self.acc_c = _new_acc_c(accounts)
        self.acc_f = _new_acc_f(accounts)
        self.ent_t = np.full((entities, NET), -1, np.int64)
        self.ent_c = np.zeros((entities, NEC), np.int32)
        self.groups = np.full((groups, NG), -1, np.int64)
        self.groups[:, G_MEMBERS] = 0
        self.pairs = _new_table(pairs)
        self.members = _new_table(members)
        # used slots: [pairs, members]
        self.used = np.zeros(2, np.int64)

    # -- growth (between batches, never inside the hot path) ------------------------------
    def ensure(self, accounts: int, entities: int, groups: int, new_keys: int,
               now: int, retention: int) -> None:
        """Make room for ids below the given counts and ``new_keys`` more table entries."""
        if accounts > self.acc_t.shape[0]:
            n = _grown(self.acc_t.shape[0], accounts)
            self.acc_t = _extend(self.acc_t, _new_acc_t(n - self.acc_t.shape[0]))
            self.acc_c = _extend(self.acc_c, _new_acc_c(n - self.acc_c.shape[0]))
            self.acc_f = _extend(self.acc_f, _new_acc_f(n - self.acc_f.shape[0]))
        if entities > self.ent_t.shape[0]:
            n = _grown(self.ent_t.shape[0], entities)
            extra = n - self.ent_t.shape[0]
            self.ent_t = _extend(self.ent_t, np.full((extra, NET), -1, np.int64))
            self.ent_c = _extend(self.ent_c, np.zeros((extra, NEC), np.int32))
        if groups > self.groups.shape[0]:
            n = _grown(self.groups.shape[0], groups)
            more = np.full((n - self.groups.shape[0], NG), -1, np.int64)
            more[:, G_MEMBERS] = 0
            self.groups = _extend(self.groups, more)
        for i, name in ((0, "pairs"), (1, "members")):
            table = getattr(self, name)
            if (self.used[i] + new_keys) * 2 > table.shape[0]:
                fresh, used = _rebuild(table, new_keys, now - retention,
                                       K_LAST if i == 0 else M_ADDED)
                setattr(self, name, fresh)
                self.used[i] = used

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in vars(self).items() if isinstance(v, np.ndarray)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> State:
        """The state saved by :meth:`arrays`; ValueError if it was written by an engine with
        another row layout (the compiled code would read and write past its rows)."""
        fresh = cls().arrays()
        problems = [f"{k}: {arrays[k].shape[1:]} columns, this engine has {v.shape[1:]}"
                    for k, v in fresh.items()
                    if k in arrays and (arrays[k].shape[1:] != v.shape[1:]
                                        or arrays[k].dtype != v.dtype)]
        missing = sorted(set(fresh) - set(arrays))
        if problems or missing:
            raise ValueError("state written by an engine with another layout ("
                             + "; ".join(problems + [f"{k} missing" for k in missing])
                             + "): replay the events into this version instead")
        state = cls.__new__(cls)
        for k, v in arrays.items():
            setattr(state, k, np.ascontiguousarray(v))
        return state


def _new_acc_t(n: int) -> np.ndarray:
    return np.full((n, NT), -1, np.int64)


def _new_acc_c(n: int) -> np.ndarray:
    c = np.zeros((n, NC), np.int32)
    c[:, C_NB:C_DEV + 1] = -1
    c[:, C_VERIFICATION] = -1
    c[:, C_CUR_IPB:C_CUR_CLIENT + 1] = -1
    return c


def _new_acc_f(n: int) -> np.ndarray:
    f = np.zeros((n, NF), np.float32)
    f[:, F_REG_MODEL] = np.nan
    return f


def _new_table(n: int) -> np.ndarray:
    t = np.zeros((n, 4), np.int64)
    t[:, K_KEY] = EMPTY
    return t


def _grown(have: int, need: int) -> int:
    n = max(have, 16)
    while n < need:
        n *= 2
    return n


def _extend(a: np.ndarray, more: np.ndarray) -> np.ndarray:
    return np.concatenate([a, more], axis=0)


def _rebuild(table: np.ndarray, new_keys: int, horizon: int,
             ts_col: int) -> tuple[np.ndarray, int]:
    """Copy entries touched since ``horizon`` into a table with room for ``new_keys`` more.

    Entries older than the horizon are dropped here: this is where old pairs age out.
    """
    live = (table[:, K_KEY] != EMPTY) & (table[:, ts_col] >= horizon)
    n_live = int(live.sum())
    cap = 1024
    while cap < 2 * (n_live + new_keys) + 2:
        cap *= 2
    fresh = _new_table(cap)
    _reinsert(fresh, table[live])
    return fresh, n_live


@njit(cache=True)
def slot_of(table, key):
    """Linear-probing slot for ``key``: where it is, or the empty slot where it would go."""
    mask = table.shape[0] - 1
    h = key * 0x2545F4914F6CDD1D
    h ^= h >> 32
    i = h & mask
    while True:
        k = table[i, K_KEY]
        if k == key or k == EMPTY:
            return i
        i = (i + 1) & mask


@njit(cache=True)
def _reinsert(table, rows):
    for r in range(rows.shape[0]):
        i = slot_of(table, rows[r, K_KEY])
        for c in range(4):
            table[i, c] = rows[r, c]
