import hashlib
import json

from segstudio.cli import main
from segstudio.core.sample import make_sample_project


def _digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_sample_project_is_deterministic_and_complete(tmp_path):
    a = make_sample_project(tmp_path / "a", n_images=24, seed=0)
    b = make_sample_project(tmp_path / "b", n_images=24, seed=0)
    assert _digest(a) == _digest(b)
    jsons = sorted(a.glob("*.json"))
    jsons = [p for p in jsons if p.name != "segstudio.json"]
    assert len(jsons) == 24 and len(list(a.glob("*.png"))) == 24
    labels = set()
    for p in jsons:
        doc = json.loads(p.read_text())
        assert doc["imageData"] is None and (a / doc["imagePath"]).exists()
        for s in doc["shapes"]:
            assert s["shape_type"] == "polygon" and len(s["points"]) >= 3
            labels.add(s["label"])
    assert labels == {"lesion", "cyst"}
    assert (a / "labels.txt").read_text().split() == ["__ignore__", "_background_", "lesion", "cyst"]


def test_sample_cli(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "p"), "-n", "3"]) == 0
    assert len([p for p in (tmp_path / "p").glob("img_*.json")]) == 3
    assert "written" in capsys.readouterr().out
