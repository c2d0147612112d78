"""Spam score for the text a user attaches to a report (``report.messages``).

Those messages are the only text Seawall ever sees (``shared/contract/events.md``). A report
whose messages read like spam or a scam is stronger evidence against the reported account
than one whose messages read like ordinary chat; this module turns the messages into that
probability.

The model is a linear classifier over hashed character n-grams within word boundaries
(the "char_wb" analyzer of scikit-learn's ``HashingVectorizer``), which needs no vocabulary
and reads any script, so English and Russian spam are handled by the same weights. Character
n-gram models are the classic strong baseline for short-message spam (Almeida, Gómez Hidalgo
and Yamakami, "Contributions to the study of SMS spam filtering", DocEng 2011; Kanaris et
al., "Words versus character n-grams for anti-spam filtering", 2007). Only the learned
weights ship, in an ``.npz`` with a JSON metadata block; scoring is the stateless hashing
vectorizer, one sparse dot product and a sigmoid. Nothing is trained or fetched at run time.
``scripts/train_report_text.py`` builds the artifact; ``docs/report_text.md`` has the figures.

>>> normalise("F R E E entry! Visit https://win.example.com/x?id=9 or call 0800 123 4567")
'FREE entry! Visit _url_ or call _num_'
>>> clf = ReportTextClassifier.load()
>>> clf.score([]) is None
True
>>> clf.score(["WINNER!! Claim your £1000 prize now, text WIN to 80086"]) > 0.9
True
>>> clf.score(["Sorry, I will call you later", "at the station now"]) < 0.05
True
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EMAIL_PATTERN",
    "FORMAT",
    "URL_PATTERN",
    "Corpus",
    "ModelFileError",
    "ReportTextClassifier",
    "heldout_metrics",
    "holdout_split",
    "normalise",
    "read_corpus",
]

FORMAT = "seawall.report_text/1"
"""Artifact format tag; bump it when the arrays, the metadata or ``normalise`` change."""

# Top-level domains recognised in links written without a scheme ("bit.ly/x", "сайт.рф").
# A closed list without TLDs that are everyday words ("it", "to", "in", "us", "win",
# "click"), because "message.it" or "prize.Click" with a missing space must not read as
# links; links with a scheme or "www." are recognised whatever their domain.
_BARE_TLDS = (
    "com|net|org|info|biz|edu|gov|io|co|me|ly|gl|gg|ru|su|ua|by|kz|uz|uk|fr|nl|pl|ca|au|br|"
    "cn|jp|xyz|top|ltd|app|dev|site|online|shop|store|club|tk|ml|ga|cf|gq|cc|tv|ws|рф"
)
URL_PATTERN = re.compile(
    r"(?:(?:https?|ftp)://|www\.)[^\s<>\"'«»]+"
    r"|(?<![\w.@/-])(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:" + _BARE_TLDS + r")(?![\w-])"
    r"(?:[/?#][^\s<>\"'«»]*)?",
    re.IGNORECASE,
)
"""Links in free text: with a scheme, starting with ``www.``, or a bare domain on a known TLD."""

EMAIL_PATTERN = re.compile(r"[\w.+-]+@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+")

URL_TOKEN = "_url_"
EMAIL_TOKEN = "_email_"
NUMBER_TOKEN = "_num_"

# A run of digits, with the separators people put inside phone numbers, prices and codes,
# becomes one token: the model should learn "a number here", not which number.
_NUMBER = re.compile(r"\d+(?:[.,:/\- ]\d+)*")
# Letter spacing ("F R E E", "c.l.i.c.k"): at least four single letters, one separator apart.
_SPACED = re.compile(r"(?<!\w)(?:[^\W\d_][ .·*_\-]){3,}[^\W\d_](?!\w)")
_SPACED_SEP = re.compile(r"[ .·*_\-]")
# Zalgo-style stacks of combining marks; up to two marks (real diacritics) are kept.
_MARK_STACK = re.compile(r"[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff"
                         r"\ufe20-\ufe2f]{3,}")
_REPEAT = re.compile(r"(.)\1{3,}")
_TOKENS = re.compile(r"_(?:url|email|num)_")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+")

# Latin and Cyrillic letters that look alike; spam mixes them inside one word
# ("зaрaбoтoк" with Latin "a" and "o") to dodge word filters (the "mixed script" confusables
# of Unicode TR #39, restricted to the two scripts of our data).
_LATIN_LOOKALIKE = "aceopxykABCEHKMOPTXY"
_CYRILLIC_LOOKALIKE = "асеорхукАВСЕНКМОРТХУ"
_TO_CYRILLIC = str.maketrans(_LATIN_LOOKALIKE, _CYRILLIC_LOOKALIKE)
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKE, _LATIN_LOOKALIKE)
_LOOKALIKES = frozenset(_LATIN_LOOKALIKE + _CYRILLIC_LOOKALIKE)


def normalise(text: str) -> str:
    """Undo the usual obfuscations of spam text; the one normaliser for training and scoring.

    In order: drop invisible format characters (zero-width spaces and joiners, soft hyphens,
    byte-order marks); Unicode NFKC (fullwidth and "mathematical bold" letters, ligatures,
    circled digits become plain ones); drop stacks of three or more combining marks; e-mail
    addresses become ``_email_``, links ``_url_``, digit runs ``_num_``; whitespace
    collapses to single spaces; letter-spaced words are joined; a word mixing Latin and
    Cyrillic letters gets its look-alike letters mapped to the script of its other letters
    (a word of look-alikes only, to the script of the whole text); runs of four or more
    equal characters shrink to three. Case is kept. The result is a fixed point:
    ``normalise(normalise(t)) == normalise(t)``.

    >>> normalise("Ｗｉｎ　a ｆｒｅｅ\u200b iPhone!!!!!! Call +44 7911 123456")
    'Win a free iPhone!!! Call +_num_'
    >>> normalise("Быстрый зaрaбoтoк: пиши @helper_bot или m.example.ru")
    'Быстрый заработок: пиши @helper_bot или _url_'
    """
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKC", text)
    text = _MARK_STACK.sub("", text)
    text = EMAIL_PATTERN.sub(f" {EMAIL_TOKEN} ", text)
    text = URL_PATTERN.sub(f" {URL_TOKEN} ", text)
    text = _NUMBER.sub(NUMBER_TOKEN, text)
    text = _SPACE.sub(" ", text)
    text = _SPACED.sub(_join_spaced, text)
    text = _unmix_scripts(text)
    return _REPEAT.sub(r"\1\1\1", text).strip()


def _join_spaced(match: re.Match[str]) -> str:
    # Join only same-case stretches of four or more letters, so the article in
    # "get a F R E E gift" stays a word of its own.
    letters = _SPACED_SEP.sub("", match.group())
    parts: list[str] = []
    start = 0
    for end in range(1, len(letters) + 1):
        if end == len(letters) or letters[end].isupper() != letters[start].isupper():
            run = letters[start:end]
            parts.append(run if len(run) >= 4 else " ".join(run))
            start = end
    return " ".join(parts)


def _unmix_scripts(text: str) -> str:
    # A word takes the script of its unambiguous letters; a word of look-alikes only
    # ("Hy" for "Ну") takes the script that dominates the whole text, if one does.
    latin, cyrillic = _script_letters(_TOKENS.sub(" ", text))
    default = (_TO_CYRILLIC if cyrillic > 2 * latin
               else _TO_LATIN if latin > 2 * cyrillic else None)

    def unmix(match: re.Match[str]) -> str:
        word = match.group()
        latin, cyrillic = _script_letters(word)
        table = (_TO_CYRILLIC if cyrillic > latin
                 else _TO_LATIN if latin > cyrillic else default)
        if table is None:
            return word
        # A letter carrying a combining mark stays: NFKC found no precomposed form for it in
        # its own script, and one in the other script would make the next pass differ.
        if unicodedata.combining(match.string[match.end():match.end() + 1] or "a"):
            return word[:-1].translate(table) + word[-1]
        return word.translate(table)

    return _WORD.sub(unmix, text)


def _script_letters(text: str) -> tuple[int, int]:
    """Latin and Cyrillic letters in ``text`` that have no look-alike in the other script."""
    latin = cyrillic = 0
    for ch in text:
        if ch in _LOOKALIKES or not ch.isalpha():
            continue
        if ch.isascii():
            latin += 1
        elif "\u0400" <= ch <= "\u04ff":
            cyrillic += 1
    return latin, cyrillic


class ModelFileError(ValueError):
    """The report-text model file is missing or unusable; the message names the file and why."""


# HashingVectorizer parameters that the artifact may set, with their types; anything else
# in the file is refused, so a scorer never silently hashes differently from the trainer.
_VECTORIZER_KEYS = {
    "analyzer": str,
    "ngram_range": list,
    "n_features": int,
    "alternate_sign": bool,
    "lowercase": bool,
    "norm": str,
}


class ReportTextClassifier:
    """Probability that the messages attached to a report are spam or a scam.

    Parameters: ``coef_`` (one weight per hashed feature), ``intercept_``, ``vectorizer``
    (the ``HashingVectorizer`` parameters the weights were trained with) and ``metadata``
    (training data checksums, held-out figures; see ``docs/report_text.md``). Use
    :meth:`load` for the shipped model; ``scripts/train_report_text.py`` builds new ones.
    """

    def __init__(
        self,
        coef: np.ndarray,
        intercept: float,
        vectorizer: dict[str, Any],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.coef_ = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept_ = float(intercept)
        self.vectorizer = dict(vectorizer)
        self.metadata = dict(metadata or {})
        params = dict(self.vectorizer)
        params["ngram_range"] = tuple(params["ngram_range"])
        self._vectorizer = HashingVectorizer(dtype=np.float64, **params)

    @classmethod
    def load(cls, path: str | Path | None = None) -> ReportTextClassifier:
        """Read a model file; without ``path``, the one shipped in ``seawall/data``.

        Raises :class:`ModelFileError` naming the file and the reason when it is missing,
        not an ``.npz``, or its arrays or metadata are not what scoring needs.
        """
        if path is None:
            shipped = resources.files("seawall").joinpath("data", "report_text.npz")
            with resources.as_file(shipped) as real:
                return cls._read(Path(real))
        return cls._read(Path(path))

    @classmethod
    def _read(cls, path: Path) -> ReportTextClassifier:
        def fail(why: str) -> ModelFileError:
            return ModelFileError(f"{path}: {why}")

        if not path.is_file():
            raise fail("no such model file (run `python scripts/train_report_text.py`)")
        try:
            with np.load(path, allow_pickle=False) as npz:
                missing = sorted({"coef", "intercept", "metadata"} - set(npz.files))
                if missing:
                    raise fail(f"not a report-text model: missing array(s) {', '.join(missing)}")
                coef = npz["coef"]
                intercept = npz["intercept"]
                raw_meta = npz["metadata"]
        except ModelFileError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise fail(f"not a readable .npz archive ({exc})") from None
        try:
            metadata = json.loads(str(raw_meta[()]))
        except (ValueError, TypeError) as exc:
            raise fail(f"metadata is not valid JSON ({exc})") from None
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
            found = metadata.get("format") if isinstance(metadata, dict) else None
            raise fail(f"unsupported format {found!r}, expected {FORMAT!r}")
        vectorizer = metadata.get("vectorizer")
        if not isinstance(vectorizer, dict) or set(vectorizer) != set(_VECTORIZER_KEYS):
            raise fail(f"metadata.vectorizer must have exactly the keys {sorted(_VECTORIZER_KEYS)}")
        for key, kind in _VECTORIZER_KEYS.items():
            if not isinstance(vectorizer[key], kind):
                raise fail(f"metadata.vectorizer.{key} must be a {kind.__name__}")
        n_features = vectorizer["n_features"]
        if coef.dtype.kind != "f" or coef.shape != (n_features,):
            raise fail(f"coef must be {n_features} floats, found {coef.dtype} {coef.shape}")
        if intercept.dtype.kind != "f" or intercept.shape != (1,):
            raise fail(f"intercept must be one float, found {intercept.dtype} {intercept.shape}")
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise fail("coef or intercept holds NaN or infinity")
        try:
            model = cls(coef, float(intercept[0]), vectorizer, metadata)
            # scikit-learn checks most parameters only when it first hashes something:
            # do that now, so a bad file fails here and not on the first live report.
            model.score(["ok"])
        except (TypeError, ValueError) as exc:
            raise fail(f"bad vectorizer parameters ({exc})") from None
        return model

    def save(self, path: str | Path) -> None:
        """Write the model as an ``.npz`` that :meth:`load` reads.

        The archive is written with fixed member timestamps, so the same model gives the
        same bytes (``numpy.savez`` would stamp the current time).
        """
        metadata = {**self.metadata, "format": FORMAT, "vectorizer": self.vectorizer}
        arrays = {
            "coef": self.coef_,
            "intercept": np.array([self.intercept_], dtype=np.float64),
            "metadata": np.array(json.dumps(metadata, sort_keys=True, ensure_ascii=False)),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, array, allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, buffer.getvalue(), compresslevel=9)

    def score(self, messages: Sequence[str]) -> float | None:
        """Spam probability of one report's messages; ``None`` when there is no text at all.

        The messages are normalised and scored together as one document, so one spam
        message among short replies still weighs, without five chances at a false alarm.
        """
        return self.score_many([messages])[0]

    def score_many(self, reports: Sequence[Sequence[str]]) -> list[float | None]:
        """:meth:`score` for many reports at once (one vectorizer pass, one dot product)."""
        documents: list[str] = []
        where: list[int] = []
        for i, messages in enumerate(reports):
            if isinstance(messages, str) or not all(isinstance(m, str) for m in messages):
                raise TypeError(f"report {i}: messages must be a list of strings")
            text = "\n".join(n for n in map(normalise, messages) if n)
            if text:
                documents.append(text)
                where.append(i)
        scores: list[float | None] = [None] * len(reports)
        if documents:
            margin = self._vectorizer.transform(documents) @ self.coef_ + self.intercept_
            # tanh form of the logistic: no overflow warning for large negative margins.
            probability = 0.5 * (1.0 + np.tanh(0.5 * margin))
            for i, p in zip(where, probability.tolist(), strict=True):
                scores[i] = p
        return scores


@dataclass(frozen=True)
class Corpus:
    """Labelled messages: ``labels[i]`` is 1 for spam, 0 for ham; ``sources[i]`` names the set."""

    texts: list[str]
    labels: np.ndarray
    sources: list[str]
    files: dict[str, str]
    """File name -> sha256 of every file read."""


_SMS = "sms_spam_collection.tsv"
_TELEGRAM = {"telegram_spam_samples.txt": 1, "telegram_ham_samples.txt": 0}


def read_corpus(data_dir: str | Path) -> Corpus:
    """Read the shared training data (``shared/data/README.md``) into one corpus.

    The SMS Spam Collection is ``label<TAB>text`` with labels ``ham``/``spam``; the Telegram
    files hold one message per line. Messages equal after :func:`normalise` are kept once
    (the first seen), so the held-out split cannot test on a copy of a training message;
    blank lines are skipped. A malformed line raises ``ValueError`` naming file and line.
    """
    data_dir = Path(data_dir)
    texts: list[str] = []
    labels: list[int] = []
    sources: list[str] = []
    files: dict[str, str] = {}
    seen: set[str] = set()

    def keep(text: str, label: int, source: str) -> None:
        key = normalise(text).lower()
        if key and key not in seen:
            seen.add(key)
            texts.append(text)
            labels.append(label)
            sources.append(source)

    sms = data_dir / _SMS
    for number, line in enumerate(_read_lines(sms, files), start=1):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab or label not in ("ham", "spam"):
            raise ValueError(f"{sms}:{number}: expected `ham|spam<TAB>text`, got {line[:40]!r}")
        keep(text, int(label == "spam"), "sms")
    for name, label in _TELEGRAM.items():
        for line in _read_lines(data_dir / name, files):
            if line.strip():
                keep(line, label, "telegram")
    return Corpus(texts, np.array(labels, dtype=np.int8), sources, files)


def _read_lines(path: Path, files: dict[str, str]) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read training data ({exc.strerror})") from None
    files[path.name] = hashlib.sha256(raw).hexdigest()
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 ({exc})") from None


def holdout_split(
    corpus: Corpus, *, seed: int = 20111201, test_fraction: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """The fixed train/held-out split: stratified by (source, label), ``test_fraction`` held out.

    Each stratum, in sorted order, is shuffled by one ``numpy.random.default_rng(seed)``
    stream (PCG64, stable across numpy versions) and its first ``round(n * test_fraction)``
    members are held out. Returns sorted index arrays ``(train, test)``.
    """
    rng = np.random.default_rng(seed)
    keys = [f"{s}/{int(y)}" for s, y in zip(corpus.sources, corpus.labels, strict=True)]
    test: list[int] = []
    for stratum in sorted(set(keys)):
        members = np.array([i for i, k in enumerate(keys) if k == stratum])
        held = round(len(members) * test_fraction)
        test.extend(members[rng.permutation(len(members))[:held]].tolist())
    held_out = np.zeros(len(keys), dtype=bool)
    held_out[test] = True
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def heldout_metrics(
    labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5
) -> dict[str, float | int]:
    """Accuracy, spam precision/recall/F1 at ``threshold``, and ROC AUC, rounded to 4 places."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels, dtype=bool)
    p = np.asarray(scores, dtype=np.float64)
    flagged = p >= threshold
    tp = int((flagged & y).sum())
    fp = int((flagged & ~y).sum())
    fn = int((~flagged & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": int(y.size),
        "n_spam": int(y.sum()),
        "accuracy": round(float((flagged == y).mean()), 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "auc": round(float(roc_auc_score(y, p)), 4),
        "false_positives": fp,
        "false_negatives": fn,
    }
