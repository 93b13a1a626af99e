"""Runs INSIDE the reference venv .venv-ref (medpy 0.5.2); never imported by segstudio or pytest.

Usage: python metrics_ref_worker.py pairs.npz result.json
pairs.npz holds ``pred_<i>`` / ``gt_<i>`` boolean masks; result.json gets, per pair, medpy's
``medpy.metric.binary.hd95(pred, gt)`` (voxel spacing 1, connectivity 1) or the error it raised
(medpy raises RuntimeError when either mask is empty).
"""
import json
import sys

import numpy as np
from medpy.metric.binary import hd95


def main(src: str, dst: str) -> None:
    data = np.load(src)
    n = len([k for k in data.files if k.startswith("pred_")])
    out = []
    for i in range(n):
        try:
            out.append({"hd95": float(hd95(data[f"pred_{i}"], data[f"gt_{i}"]))})
        except Exception as exc:  # noqa: BLE001 - the reference's own verdict is the result
            out.append({"error": f"{type(exc).__name__}: {exc}"})
    with open(dst, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
