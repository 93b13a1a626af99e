"""core/review/project.py: a project's predictions scored against its annotations (what the Review dock
shows), HD95 coverage counts, and which model made the predictions."""
from __future__ import annotations

import numpy as np

from segstudio.core.annotation.masks import write_label_png
from segstudio.core.project import Project
from segstudio.core.review import evaluate_project, ground_truth, score_image, sources_summary


def predict(project, entry, label):
    project.predictions_dir.mkdir(exist_ok=True)
    write_label_png(project.predictions_dir / f"{entry.stem}.png", np.asarray(label, np.int64))


def test_score_image_marks_missed_and_hallucinated_classes():
    gt = np.zeros((32, 32), np.int64)
    gt[4:12, 4:12] = 1
    pred = np.zeros_like(gt)
    pred[20:28, 20:28] = 2                  # class 1 missed, class 2 hallucinated
    m = score_image(pred, gt, 3)
    assert m.hd95_undefined == [0, 1, 1] and m.hd95_images == (0, 1)
    assert np.isnan(m.hd95[1]) and np.isnan(m.hd95[2])
    pred[4:12, 4:12] = 1
    pred[20:28, 20:28] = 0
    assert score_image(pred, gt, 3).hd95_images == (1, 1)


def test_evaluate_project_counts_per_class(sample_project):
    p = Project(sample_project)
    a, b, c = p.images[:3]
    for e in (a, b):
        predict(p, e, ground_truth(p, e))
    predict(p, c, np.zeros_like(ground_truth(p, c)))
    ev = evaluate_project(p)
    n_present = [sum(1 for e in (a, b) if (ground_truth(p, e) == k).any()) for k in range(3)]
    n_missed = [int((ground_truth(p, c) == k).any()) if k else 0 for k in range(3)]
    assert ev.overall.hd95_n[1:] == n_present[1:]
    assert ev.overall.hd95_undefined == n_missed
    assert ev.overall.hd95_images == (2, 3)
    n_absent = [sum(1 for e in (a, b, c) if not (ground_truth(p, e) == k).any()) if k else 0 for k in range(3)]
    assert ev.overall.hd95_absent == n_absent
    assert [ev.overall.hd95_n[k] + ev.overall.hd95_undefined[k] + n_absent[k] for k in (1, 2)] == [3, 3]


def test_sources_summary_words():
    assert sources_summary({}) == ""
    assert sources_summary({"/r/run1/best.pt": 3}, "/r/run1/best.pt") == "Predicted with run1/best.pt"
    assert "not the chosen model" in sources_summary({"/r/run1/best.pt": 3}, "/r/run2/best.pt")
    mixed = sources_summary({"/r/run1/best.pt": 1, "/r/run2/last.pt": 4, "": 2})
    assert mixed.startswith("Mixed predictions of 3 models (run2/last.pt ×4, an unknown model ×2, run1/best.pt ×1)")


def test_project_records_prediction_sources(tmp_path):
    p = Project(tmp_path)
    assert p.prediction_sources() == {}
    p.record_prediction_sources(["a", "b"], tmp_path / "run1" / "best.pt")
    p.record_prediction_sources(["b"], tmp_path / "run2" / "best.pt")
    assert p.prediction_sources() == {"a": str(tmp_path / "run1" / "best.pt"),
                                      "b": str(tmp_path / "run2" / "best.pt")}
    (p.predictions_dir / "sources.json").write_text("{broken")
    assert p.prediction_sources() == {}  # unreadable record: unknown sources, never an error


def test_a_prediction_of_another_size_is_skipped_and_named(sample_project):
    p = Project(sample_project)
    a, b = p.images[:2]
    predict(p, a, ground_truth(p, a))
    predict(p, b, np.zeros((10, 12), np.int64))
    ev = evaluate_project(p)
    assert list(ev.per_image) == [a.stem] and ev.overall.n_images == 1
    assert "differs from the ground truth" in ev.problems[b.stem] and f"{b.stem}.png" in ev.problems[b.stem]
    assert ev.miou(a.stem) == 1.0 and ev.overall.hd95_images == (1, 1)



def test_predict_entries_reads_an_image_embedded_in_the_json(tmp_path):
    """A labelme JSON with imageData and no image file beside it is predicted like the others (the image the
    canvas shows), and the checkpoint is recorded for every mask written."""
    import base64
    import json

    import torch

    from segstudio.core.models import build_model
    from segstudio.core.review import entry_image, predict_entries
    from segstudio.core.sample import make_sample_project

    folder = make_sample_project(tmp_path / "p", n_images=2)
    data = json.loads((folder / "img_001.json").read_text(encoding="utf-8"))
    data["imageData"] = base64.b64encode((folder / "img_001.png").read_bytes()).decode()
    (folder / "img_001.json").write_text(json.dumps(data), encoding="utf-8")
    (folder / "img_001.png").unlink()
    p = Project(folder)
    assert [e.stem for e in p.images] == ["img_000", "img_001"] and not p.images[1].image_path.is_file()
    assert entry_image(p.images[1]).shape[:2] == (256, 256)
    names = list(p.label_set.names)
    model = build_model("unet", num_classes=len(names), base=4, depth=2)
    ckpt = tmp_path / "run" / "best.pt"
    ckpt.parent.mkdir()
    torch.save({"format": "segstudio-checkpoint", "format_version": 1,
                "model": {"name": "unet", "in_channels": 3, "num_classes": len(names),
                          "kwargs": {"base": 4, "depth": 2}},
                "state_dict": model.state_dict(), "class_names": names, "img_size": 32,
                "resize_mode": "letterbox", "epoch": 1, "metrics": {}, "config": {}}, ckpt)
    report = predict_entries(ckpt, p, p.images, device="cpu")
    assert report.failures == [] and report.predicted == ["img_000", "img_001"]
    assert sorted(x.name for x in p.predictions_dir.glob("*.png")) == ["img_000.png", "img_001.png"]
    assert p.prediction_sources() == {"img_000": str(ckpt), "img_001": str(ckpt)}
    assert sorted(evaluate_project(p).per_image) == ["img_000", "img_001"]
