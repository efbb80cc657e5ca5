#!/usr/bin/env python3
"""Regenerate test/fixtures/moons-sklearn.json: scikit-learn's noise-free, unshuffled make_moons.

test/moons.test.ts compares makeMoons against these points (tolerance 1e-12).
Run with an interpreter that has scikit-learn (on Debian: apt install python3-sklearn, then
/usr/bin/python3 scripts/make-moons-fixture.py). Odd and even n check the outer/inner split;
n = 1 and 2 check numpy.linspace's edge cases (num = 0 and num = 1).
"""
import json
import pathlib

import numpy
import sklearn
from sklearn.datasets import make_moons

SIZES = [1, 2, 3, 7, 100, 101]

cases = []
for n in SIZES:
    x, y = make_moons(n_samples=n, shuffle=False, noise=None)
    cases.append({"n": n, "x": [float(v) for v in x.reshape(-1)], "y": [int(v) for v in y]})

out = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "moons-sklearn.json"
out.write_text(json.dumps({
    "source": "sklearn.datasets.make_moons(n_samples=n, shuffle=False, noise=None)",
    "sklearn": sklearn.__version__,
    "numpy": numpy.__version__,
    "x": "n*2 row-major",
    "cases": cases,
}) + "\n")
print(f"wrote {out.name}: n = {SIZES}")
