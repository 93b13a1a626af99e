"""Runs INSIDE the readers reference venv .venv-ref (pycocotools 2.0.11, ultralytics 8.4.190, nnunetv2 2.8.1);
never imported by segstudio or pytest.

Usage: python readers_ref_worker.py job.json result.json
job.json: {"kind": "coco" | "yolo" | "nnunet", ...}; result.json gets what the reader said.

* coco: {"annotations": path, "out": dir, "instances": bool}.  pycocotools loads the file; for every image the
  annotations' annToMask, composed in file order (later wins) with category_id as value, is written to
  out/<id>.png (and with "instances" each annotation's annToMask to out/ann_<annotation id>.png);
  result: pycocotools' area and toBbox of every annotation, and COCOeval (segm) of the ground truth scored
  against itself (its own annToRLE masks as detections, score 1).
* yolo: {"root": dir, "out": dir, "dataset_items": N}.  check_det_dataset reads data.yaml;
  verify_image_label (Ultralytics' label verification) runs on every image/label pair of its train and val
  folders; its segments are
  denormalized as Ultralytics does (float32 times the image size: returned in the result) and filled by its
  polygon2mask at full resolution, composed per image as class index + 1 (later wins) into out/<stem>.png.  Then
  build_yolo_dataset (mode "val", imgsz 640, mask_ratio 1, no overlap) builds the first N items; their masks,
  composed the same way, go to out/ds_<stem>.png with the letterbox geometry in the result.
* nnunet: {"roots": [dir, ...]}.  verify_dataset_integrity(root, 2) on each; result: {"results": {root: "ok"
  or the error}}.
"""
import json
import os
import sys
import traceback
from pathlib import Path

import cv2
import numpy as np


def run_coco(job):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO(job["annotations"])
    out = Path(job["out"])
    for img_id in gt.getImgIds():
        info = gt.loadImgs(img_id)[0]
        comp = np.zeros((info["height"], info["width"]), np.uint8)
        for ann in gt.loadAnns(gt.getAnnIds(imgIds=img_id, iscrowd=None)):  # file order
            m = gt.annToMask(ann)
            comp[m > 0] = ann["category_id"]
            if job.get("instances"):
                cv2.imwrite(str(out / f"ann_{ann['id']}.png"), m)
        cv2.imwrite(str(out / f"{img_id}.png"), comp)
    anns = []
    dets = []
    for ann in gt.dataset["annotations"]:
        rle = gt.annToRLE(ann)
        anns.append({"id": ann["id"], "area": float(mask_utils.area(rle)),
                     "bbox": [float(v) for v in mask_utils.toBbox(rle)]})
        counts = rle["counts"]
        dets.append({"image_id": ann["image_id"], "category_id": ann["category_id"], "score": 1.0,
                     "segmentation": {"size": rle["size"],
                                      "counts": counts.decode() if isinstance(counts, bytes) else counts}})
    ev = COCOeval(gt, gt.loadRes(dets), "segm")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return {"anns": anns, "stats": [float(v) for v in ev.stats], "n_images": len(gt.getImgIds())}


def _compose(shape, segments, classes):
    from ultralytics.data.utils import polygon2mask

    comp = np.zeros(shape, np.uint8)
    for seg, cls in zip(segments, classes):
        m = polygon2mask(shape, [seg.reshape(-1)], color=1, downsample_ratio=1)
        comp[m > 0] = int(cls) + 1
    return comp


def run_yolo(job):
    from ultralytics.cfg import get_cfg
    from ultralytics.data.build import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset, img2label_paths, verify_image_label
    from ultralytics.utils import DEFAULT_CFG

    import ultralytics.data.utils as yolo_data_utils

    # check_det_dataset fetches a plotting font (an HTTP request even with YOLO_OFFLINE): not for a test
    yolo_data_utils.check_font = lambda *args, **kwargs: None
    root, out = Path(job["root"]), Path(job["out"])
    data = check_det_dataset(str(root / "data.yaml"), autodownload=False)
    nc = len(data["names"])
    folders = dict.fromkeys(str(data[k]) for k in ("train", "val"))  # a split export has two
    images = sorted((p for f in folders for p in Path(f).iterdir()
                     if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")), key=lambda p: p.name)
    files = {}
    for im, lb in zip(images, img2label_paths([str(p) for p in images])):
        r = verify_image_label((str(im), lb, "", False, nc, 0, 0, False))
        _im, labels, shape, segments, _kp, nm, nf, ne, ncorrupt, msg = r
        rec = {"missing": nm, "found": nf, "empty": ne, "corrupt": ncorrupt, "msg": msg}
        if not ncorrupt:
            h, w = shape
            segs = [s * np.array([w, h], dtype=np.float32) for s in segments]  # Instances.denormalize
            rec["classes"] = [int(c) for c in labels[:, 0]]
            rec["max_coordinate"] = float(max((s.max() for s in segments), default=0.0))
            rec["segments"] = [s.tolist() for s in segs]  # float32 pixel coordinates, exactly as Ultralytics has them
            cv2.imwrite(str(out / f"{im.stem}.png"), _compose((h, w), segs, labels[:, 0]))
        files[im.stem] = rec
    cfg = get_cfg(DEFAULT_CFG, {"imgsz": 640, "mask_ratio": 1, "overlap_mask": False, "task": "segment",
                                "workers": 0, "cache": False})
    ds = build_yolo_dataset(cfg, data["train"], 1, data, mode="val")
    items = []
    for i in range(min(int(job.get("dataset_items", 0)), len(ds))):
        item = ds[i]
        stem = Path(item["im_file"]).stem
        masks = item["masks"].numpy()
        comp = np.zeros(masks.shape[1:], np.uint8)
        for m, c in zip(masks, item["cls"].numpy().ravel()):
            comp[m > 0] = int(c) + 1
        cv2.imwrite(str(out / f"ds_{stem}.png"), comp)
        items.append({"stem": stem, "ori_shape": list(item["ori_shape"]),
                      "resized_shape": list(item["resized_shape"]),
                      "ratio_pad": [list(map(float, item["ratio_pad"][0])), list(map(float, item["ratio_pad"][1]))],
                      "n_masks": int(masks.shape[0]), "img_shape": list(item["img"].shape)})
    return {"files": files, "nc": nc, "folders": list(folders), "names": {int(k): v for k, v in data["names"].items()},
            "dataset_len": len(ds), "dataset_labels": sum(len(lb["cls"]) for lb in ds.labels), "items": items}


def run_nnunet(job):
    from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity

    results = {}
    for root in job["roots"]:  # one interpreter for all: importing nnunetv2 is the slow part
        try:
            verify_dataset_integrity(root, 2)
            results[root] = "ok"
        except Exception as e:  # the test names the dataset that failed
            results[root] = f"{type(e).__name__}: {e}"
    return {"results": results}


def main() -> int:
    job = json.load(open(sys.argv[1]))
    try:
        result = {"coco": run_coco, "yolo": run_yolo, "nnunet": run_nnunet}[job["kind"]](job)
    except Exception as e:  # reported to the test, which fails with it
        result = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    sys.exit(main())
