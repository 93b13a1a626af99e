"""Runs INSIDE the labelme 6.3.1 reference venv (never imported by segstudio or pytest).

Usage: python labelme_ref_worker.py jobs.json
jobs.json: {"label_name_to_value": {...}, "jobs": [{"json": path, "out": path.npz}, ...]}
Each job: labelme's own shape reader (``_load_shape_json_obj``, what LabelFile uses, without reading the
image) and labelme.utils.shapes_to_label at (imageHeight, imageWidth); writes cls (int8/int32) and ins to
an uncompressed .npz, or {"error": message} when labelme refuses the file.  Jobs with "full": true go
through labelme's complete reader (LabelFile: image, size check).  Prints the seconds spent.
"""
import json
import sys
import time

import numpy as np
from labelme import utils
from labelme._label_file import LabelFile, _load_shape_json_obj


def main() -> int:
    spec = json.load(open(sys.argv[1]))
    t0 = time.perf_counter()
    for job in spec["jobs"]:
        mapping = job.get("label_name_to_value", spec.get("label_name_to_value"))
        try:
            with open(job["json"], encoding="utf-8") as f:
                raw = json.load(f)
            if job.get("full"):  # labelme's whole reader: image read, size check, every shape
                shapes = LabelFile(job["json"]).shapes
            else:
                shapes = [_load_shape_json_obj(s) for s in raw["shapes"]]
            cls, ins = utils.shapes_to_label((raw["imageHeight"], raw["imageWidth"]), shapes, mapping)
            small = cls.min() >= -128 and cls.max() <= 127 and ins.max() <= 32767
            np.savez(job["out"], cls=cls.astype(np.int8) if small else cls,
                     ins=ins.astype(np.int16) if small else ins)
        except Exception as e:  # recorded, compared by the test
            np.savez(job["out"], error=np.array(f"{type(e).__name__}: {e}"))
    print(f"{time.perf_counter() - t0:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
