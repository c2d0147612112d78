"""Rules as configuration: a YAML file of named rules over signals, checked at load time.

A rule names the stage where it is evaluated, a condition over signals, the action it asks
for and a stable reason code::

    version: 1
    rules:
      - name: new_account_blitz
        stage: messaging          # registration | messaging | feedback
        when: account_age < 300 and msgs_15s >= 100
        action: ban               # ban | restrict | challenge | review | mark
        reason: NEW_ACCOUNT_BLITZ
        score: 0.99               # optional confidence 0..1
        description: WhatsApp's published clear-cut case.

``when`` is an expression: signal names (see ``seawall signals``), numbers, ``+ - * /``,
comparisons (``< <= > >= == !=``, chains like ``10 <= x < 50``), ``and``, ``or``, ``not``
and parentheses. A comparison with an unknown signal is false. A ``mark`` rule changes no
enforcement state: it sets a flag on the account, named after the rule, which later rules
read as a signal (``risky_registration and first_contacts_24h >= 20``) and which is added
to the reasons of the account's later decisions.

Everything wrong with a file is reported at once, each with ``file:line`` and why, before
any event is scored (the Osprey habit: fail at load time, not on live traffic).

>>> rs = parse_rules("version: 1\\nrules:\\n  - {name: r, stage: messaging, when: msgs_1m > 5,"
...                  " action: ban, reason: R}\\n")
>>> [(r.name, r.action, r.reason) for r in rs.rules]
[('r', 'ban', 'R')]
>>> try:
...     parse_rules("version: 1\\nrules:\\n  - {name: r, stage: later, when: msgs_1m > 5,"
...                 " action: ban, reason: R}\\n", source="x.yaml")
... except RuleError as exc:
...     print(exc)
x.yaml:3: rule 'r': stage 'later' is not one of registration, messaging, feedback
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from seawall import signals
from seawall.decisions import ACTIONS

RULE_STAGES = ("registration", "messaging", "feedback")
RULE_ACTIONS = ("ban", "restrict", "challenge", "review", "mark")
ACTION_MARK = 6  # rule-only action code beyond the enforcement levels
MAX_RULES = 125  # fired-rule bits; the last three mark a revisit and the two models
MAX_MARKS = 30
_REASON = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_KEYS = {"name", "stage", "when", "action", "reason", "score", "description"}

# bytecode of the expression machine in seawall.kernel
OP_SIG, OP_CONST, OP_ADD, OP_SUB, OP_MUL, OP_DIV = 1, 2, 3, 4, 5, 6
OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE = 7, 8, 9, 10, 11, 12
OP_AND, OP_OR, OP_NOT, OP_NEG, OP_TRUTH = 13, 14, 15, 16, 17
_BIN = {ast.Add: OP_ADD, ast.Sub: OP_SUB, ast.Mult: OP_MUL, ast.Div: OP_DIV}
_CMP = {ast.Lt: OP_LT, ast.LtE: OP_LE, ast.Gt: OP_GT, ast.GtE: OP_GE, ast.Eq: OP_EQ,
        ast.NotEq: OP_NE}


class RuleError(ValueError):
    """One or more problems in a rule file; ``str()`` lists them as ``file:line: why``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Rule:
    name: str
    stage: str
    when: str
    action: str
    reason: str
    score: float | None
    description: str
    line: int


@dataclass
class RuleSet:
    """Validated rules plus the arrays the kernel evaluates."""

    rules: list[Rule]
    source: str
    marks: list[str] = field(default_factory=list)
    code: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    consts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    meta: np.ndarray = field(default_factory=lambda: np.zeros((0, 5), np.int64))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))

    @property
    def signal_names(self) -> tuple[str, ...]:
        """Names of the signal vector the rules read: the catalogue, then the marks."""
        return signals.NAMES + tuple(self.marks)

    def reasons(self, fired: int, marks: int) -> list[str]:
        """Reason codes of the fired rules, most severe action first, then file order;
        then the reasons of the account's marks."""
        hit = [r for i, r in enumerate(self.rules) if fired >> i & 1 and r.action != "mark"]
        hit.sort(key=lambda r: -ACTIONS.index(r.action))
        out = [r.reason for r in hit]
        for k, name in enumerate(self.marks):
            if marks >> k & 1:
                reason = next(r.reason for r in self.rules if r.name == name)
                if reason not in out:
                    out.append(reason)
        return out


def default_rules_path() -> Path:
    return Path(str(resources.files("seawall") / "default_rules.yaml"))


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Load and check a rule file (the shipped default when ``path`` is None)."""
    p = Path(path) if path is not None else default_rules_path()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError([f"{p}: cannot read rule file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise RuleError([f"{p}: rule file is not UTF-8 text"]) from None
    return parse_rules(text, source=str(p))


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    problems: list[str] = []
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise RuleError([f"{source}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) \
            from None
    if not isinstance(root, yaml.MappingNode):
        raise RuleError([f"{source}:1: expected a mapping with `version` and `rules`"])
    top = {k.value: (k, v) for k, v in root.value}
    for key, (knode, _) in top.items():
        if key not in ("version", "rules"):
            problems.append(f"{source}:{knode.start_mark.line + 1}: unknown top-level key "
                            f"{key!r} (expected `version`, `rules`)")
    if "version" not in top or top["version"][1].value not in ("1",):
        line = top["version"][1].start_mark.line + 1 if "version" in top else 1
        problems.append(f"{source}:{line}: `version: 1` is required")
    if "rules" not in top or not isinstance(top["rules"][1], yaml.SequenceNode):
        problems.append(f"{source}:1: `rules` must be a list of rules")
        raise RuleError(problems)

    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for node in top["rules"][1].value:
        rule = _read_rule(node, source, problems)
        if rule is None:
            continue
        if rule.name in seen:
            problems.append(f"{source}:{rule.line}: rule name {rule.name!r} already used at "
                            f"line {seen[rule.name]}")
            continue
        seen[rule.name] = rule.line
        rules.append(rule)
    if len(rules) > MAX_RULES:
        problems.append(f"{source}: {len(rules)} rules; at most {MAX_RULES} are supported")
    marks = [r.name for r in rules if r.action == "mark"]
    if len(marks) > MAX_MARKS:
        problems.append(f"{source}: {len(marks)} mark rules; at most {MAX_MARKS}")

    ruleset = RuleSet(rules=rules, source=source, marks=marks)
    _compile(ruleset, problems)
    if problems:
        raise RuleError(problems)
    return ruleset


def _read_rule(node: yaml.Node, source: str, problems: list[str]) -> Rule | None:
    line = node.start_mark.line + 1
    where = f"{source}:{line}"
    if not isinstance(node, yaml.MappingNode):
        problems.append(f"{where}: each rule must be a mapping")
        return None
    fields: dict[str, tuple[str, int, str]] = {}
    for k, v in node.value:
        if k.value not in _KEYS:
            hint = _suggest(k.value, _KEYS)
            problems.append(f"{source}:{k.start_mark.line + 1}: unknown rule key {k.value!r}{hint}")
            continue
        if not isinstance(v, yaml.ScalarNode):
            problems.append(f"{source}:{v.start_mark.line + 1}: `{k.value}` must be a scalar")
            continue
        fields[k.value] = (v.value, v.start_mark.line + 1, v.tag)
    name = fields.get("name", ("", line, ""))[0]
    label = f"rule {name!r}" if name else "rule"
    ok = True
    for required in ("name", "stage", "when", "action", "reason"):
        if required not in fields:
            problems.append(f"{where}: {label}: missing `{required}`")
            ok = False
    if not ok:
        return None
    if not _NAME.match(name):
        problems.append(f"{where}: {label}: name must be lower_snake_case (a-z, 0-9, _)")
    stage, sline, _ = fields["stage"]
    if stage not in RULE_STAGES:
        problems.append(f"{source}:{sline}: {label}: stage {stage!r} is not one of "
                        f"{', '.join(RULE_STAGES)}")
    action, aline, _ = fields["action"]
    if action not in RULE_ACTIONS:
        problems.append(f"{source}:{aline}: {label}: action {action!r} is not one of "
                        f"{', '.join(RULE_ACTIONS)}")
    reason, rline, _ = fields["reason"]
    if not _REASON.match(reason):
        problems.append(f"{source}:{rline}: {label}: reason {reason!r} must be an UPPER_SNAKE "
                        "code (A-Z, 0-9, _; it is a stable identifier)")
    score: float | None = None
    if "score" in fields:
        raw, sline2, tag = fields["score"]
        try:
            score = float(raw)
            if tag.endswith(":bool") or not 0.0 <= score <= 1.0:
                raise ValueError
        except ValueError:
            problems.append(f"{source}:{sline2}: {label}: score must be a number from 0 to 1, "
                            f"got {raw!r}")
            score = None
    return Rule(name=name, stage=stage, when=fields["when"][0], action=action, reason=reason,
                score=score, description=fields.get("description", ("", 0, ""))[0],
                line=fields["when"][1])


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _compile(rs: RuleSet, problems: list[str]) -> None:
    names = {n: i for i, n in enumerate(rs.signal_names)}
    code: list[tuple[int, int]] = []
    consts: list[float] = []
    meta: list[tuple[int, int, int, int, int]] = []
    for r in rs.rules:
        where = f"{rs.source}:{r.line}: rule {r.name!r}"
        try:
            tree = ast.parse(r.when.strip(), mode="eval")
        except SyntaxError as exc:
            problems.append(f"{where}: `when` is not a valid expression: {exc.msg} "
                            f"(column {exc.offset})")
            continue
        start = len(code)
        try:
            _emit_bool(tree.body, names, code, consts)
        except _TypeProblem as exc:
            problems.append(f"{where}: {exc}")
            del code[start:]
            continue
        if r.action not in RULE_ACTIONS or r.stage not in RULE_STAGES:
            continue  # already reported; the file will not load
        mark_bit = rs.marks.index(r.name) if r.action == "mark" else -1
        action = ACTION_MARK if r.action == "mark" else ACTIONS.index(r.action)
        meta.append((start, len(code), RULE_STAGES.index(r.stage), action, mark_bit))
    rs.code = np.array(code, np.int64).reshape(-1, 2)
    rs.consts = np.array(consts, np.float64)
    rs.meta = np.array(meta, np.int64).reshape(-1, 5)
    rs.scores = np.array([np.nan if r.score is None else r.score for r in rs.rules], np.float64)


class _TypeProblem(Exception):
    pass


def _emit(node: ast.AST, names: dict[str, int], code: list, consts: list) -> str:
    """Append bytecode for ``node``; return its type, "num" or "bool"."""
    if isinstance(node, ast.BoolOp):
        op = OP_AND if isinstance(node.op, ast.And) else OP_OR
        _emit_bool(node.values[0], names, code, consts)
        for v in node.values[1:]:
            _emit_bool(v, names, code, consts)
            code.append((op, 0))
        return "bool"
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            _emit_bool(node.operand, names, code, consts)
            code.append((OP_NOT, 0))
            return "bool"
        if isinstance(node.op, ast.USub):
            _emit_num(node.operand, names, code, consts)
            code.append((OP_NEG, 0))
            return "num"
        if isinstance(node.op, ast.UAdd):
            return _emit_num(node.operand, names, code, consts)
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            if type(op) not in _CMP:
                raise _TypeProblem(f"operator {type(op).__name__} is not supported")
            _emit_num(operands[i], names, code, consts)
            _emit_num(operands[i + 1], names, code, consts)
            code.append((_CMP[type(op)], 0))
            if i:
                code.append((OP_AND, 0))
        return "bool"
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BIN:
            raise _TypeProblem(f"operator {type(node.op).__name__} is not supported "
                               "(use + - * /)")
        _emit_num(node.left, names, code, consts)
        _emit_num(node.right, names, code, consts)
        code.append((_BIN[type(node.op)], 0))
        return "num"
    if isinstance(node, ast.Name):
        if node.id not in names:
            hint = _suggest(node.id, names)
            raise _TypeProblem(f"unknown signal {node.id!r} in `when`{hint}")
        code.append((OP_SIG, names[node.id]))
        return "bool" if names[node.id] >= signals.NSIG else "num"
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        consts.append(float(node.value))
        code.append((OP_CONST, len(consts) - 1))
        return "num"
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        consts.append(1.0 if node.value else 0.0)
        code.append((OP_CONST, len(consts) - 1))
        return "bool"
    raise _TypeProblem(f"`{ast.unparse(node)}` is not allowed in a rule condition")


def _emit_num(node: ast.AST, names: dict[str, int], code: list, consts: list) -> None:
    if _emit(node, names, code, consts) != "num":
        raise _TypeProblem(f"`{ast.unparse(node)}` is a condition where a number is expected")


def _emit_bool(node: ast.AST, names: dict[str, int], code: list, consts: list) -> None:
    if _emit(node, names, code, consts) == "num":
        if isinstance(node, ast.Name):  # a 0/1 signal used as a flag, e.g. client_unofficial
            code.append((OP_TRUTH, 0))
            return
        raise _TypeProblem(f"`{ast.unparse(node)}` is a number where a condition is expected "
                           "(a comparison, `and`/`or`/`not`, or a mark)")

