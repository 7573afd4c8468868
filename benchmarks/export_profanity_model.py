"""Export alt-profanity-check's model into monitor/score/data/ for the plain-Python scorer.

    .venv/bin/python benchmarks/export_profanity_model.py

Reads the installed package (pip install alt-profanity-check==1.9.1: scikit-learn, joblib) and
writes abusive_model.bin: its TF-IDF vocabulary and IDF weights, and the coefficients, intercepts
and sigmoid calibrations of its five calibrated linear SVMs, every float as stored (float64).
monitor/score/model.py scores a text with them in plain Python; tests/test_score_model.py checks
that its probabilities equal the package's to 1e-6 on every held-out text. The package's MIT
licence goes beside the data file.
"""

from __future__ import annotations

import json
import sys
import zlib
from array import array
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "monitor/score/data"


def export() -> Path:
    from profanity_check import profanity_check as pc  # the package loads its model on import

    vectorizer, model = pc.vectorizer, pc.model
    params = vectorizer.get_params()
    assert params["analyzer"] == "word" and params["ngram_range"] == (1, 1), params
    assert params["lowercase"] and params["norm"] == "l2" and params["use_idf"] and not params["sublinear_tf"]
    assert params["token_pattern"] == r"(?u)\b\w\w+\b" and params["strip_accents"] is None, params
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    assert [vectorizer.vocabulary_[w] for w in vocabulary] == list(range(len(vocabulary)))
    columns = [list(map(float, vectorizer.idf_))]
    classifiers = []
    for calibrated in model.calibrated_classifiers_:
        (calibrator,) = calibrated.calibrators
        assert calibrated.method == "sigmoid" and list(calibrated.classes) == [0, 1]
        columns.append(list(map(float, calibrated.estimator.coef_[0])))
        classifiers.append(
            {
                "intercept": float(calibrated.estimator.intercept_[0]),
                "a": float(calibrator.a_),
                "b": float(calibrator.b_),
            }
        )
    header = {
        "source": f"alt-profanity-check {metadata.version('alt-profanity-check')}",
        "trained_with": f"scikit-learn {metadata.version('scikit-learn')}",
        "words": len(vocabulary),
        "classifiers": classifiers,
    }
    numbers = array("d", [x for column in columns for x in column])
    if sys.byteorder == "big":
        numbers.byteswap()  # stored little-endian
    blob = json.dumps(header).encode() + b"\0" + "\n".join(vocabulary).encode() + b"\0" + numbers.tobytes()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "abusive_model.bin"
    path.write_bytes(zlib.compress(blob, 9))
    licence = next(f for f in metadata.distribution("alt-profanity-check").files or () if "LICENSE" in f.name.upper())
    (OUT / "abusive_model.LICENSE").write_text(
        "The data in abusive_model.bin is exported from alt-profanity-check "
        f"{metadata.version('alt-profanity-check')}\n(https://github.com/dimitrismistriotis/alt-profanity-check), "
        "whose licence follows.\n\n" + licence.read_text(),
        "utf-8",
    )
    return path


if __name__ == "__main__":
    path = export()
    print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size:,} bytes)")
