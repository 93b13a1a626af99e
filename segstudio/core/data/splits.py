"""Seeded, stratified train/validation splits and k-fold, saved as JSON in the run folder.

Stratification key: the *class-presence signature* of an item, i.e. the set of foreground class ids it
contains (``dataset.classes_present(i)``; background 0 and ignore -1 are not part of it).  Items are grouped
by signature; each group is shuffled with the seed and contributes its share of validation items, the
shares rounded with the largest-remainder rule so the total is ``round(n * val_fraction)``.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Hashable, List, Optional, Sequence, Tuple

from segstudio.core.errors import ConfigError, DatasetError

SPLIT_FORMAT = "segstudio-split"


def _signatures(dataset) -> List[Hashable]:
    if hasattr(dataset, "classes_present"):
        return [tuple(sorted(dataset.classes_present(i))) for i in range(len(dataset))]
    raise TypeError("split_indices needs a dataset with classes_present(i) or a list of signatures")


def _groups(signatures: Sequence[Hashable], seed: int) -> List[List[int]]:
    groups: dict = {}
    for i, s in enumerate(signatures):
        groups.setdefault(s, []).append(i)
    rng = random.Random(seed)
    out = []
    for key in sorted(groups, key=lambda k: (len(k) if isinstance(k, tuple) else 0, repr(k))):
        idx = groups[key]
        rng.shuffle(idx)
        out.append(idx)
    return out


def split_indices(dataset, val_fraction: float = 0.1, seed: int = 0, k_folds: Optional[int] = None,
                  fold: int = 0, *, signatures: Optional[Sequence[Hashable]] = None) -> Tuple[List[int], List[int]]:
    """``(train_idx, val_idx)`` (sorted) for ``dataset`` (anything with ``__len__`` and ``classes_present``).

    * hold-out (default): ``val_fraction`` of the items (0.1 = 9:1) go to validation, stratified by
      class-presence signature; at least one item stays in training and, when ``val_fraction > 0`` and there
      are two or more items, at least one goes to validation.
    * ``k_folds=k``: items are dealt round-robin into k stratified folds; fold ``fold`` is validation.
      Folds are disjoint and together cover every item.

    ``signatures`` may replace ``dataset`` (one hashable per item).  Same inputs and seed -> same split.
    """
    sigs = list(signatures) if signatures is not None else _signatures(dataset)
    n = len(sigs)
    if n == 0:
        raise DatasetError("cannot split an empty dataset", getattr(dataset, "root", None))
    groups = _groups(sigs, seed)
    if k_folds is not None:
        k = int(k_folds)
        if k < 2 or k > n:
            raise ConfigError(f"k_folds must be between 2 and the number of items ({n}), got {k_folds}")
        if not 0 <= fold < k:
            raise ConfigError(f"fold must be in 0..{k - 1}, got {fold}")
        folds = kfold_assign(groups, k)
        val = sorted(i for i, f in folds.items() if f == fold)
        train = sorted(i for i, f in folds.items() if f != fold)
        return train, val
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = round(n * val_fraction)
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    quotas = [len(g) * n_val / n for g in groups]
    counts = [int(q) for q in quotas]
    remaining = n_val - sum(counts)
    # largest remainder first; ties: the larger group, then the group order (deterministic)
    order = sorted(range(len(groups)), key=lambda j: (-(quotas[j] - counts[j]), -len(groups[j]), j))
    for j in order[:remaining]:
        counts[j] += 1
    val: List[int] = []
    train: List[int] = []
    for g, c in zip(groups, counts):
        val.extend(g[:c])
        train.extend(g[c:])
    return sorted(train), sorted(val)


def kfold_assign(groups: List[List[int]], k: int) -> dict:
    """Deal each group's (already shuffled) items round-robin into folds 0..k-1, continuing the rotation
    from group to group so fold sizes differ by at most one."""
    out, pos = {}, 0
    for g in groups:
        for i in g:
            out[i] = pos % k
            pos += 1
    return out


def save_split(path, names_train: Sequence[str], names_val: Sequence[str], **meta) -> Path:
    """Write the split as JSON (atomically): {"format", "train": [...], "val": [...], **meta}."""
    from segstudio.core.annotation.io import atomic_write_text

    path = Path(path)
    overlap = sorted(set(names_train) & set(names_val))
    if overlap:
        raise DatasetError(f"names in both train and val: {', '.join(overlap[:5])}", path)
    doc = {"format": SPLIT_FORMAT, "train": list(names_train), "val": list(names_val), **meta}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
    return path


def load_split(path) -> Tuple[List[str], List[str]]:
    """``(train_names, val_names)`` from a :func:`save_split` file; :class:`DatasetError` when unreadable."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError("split file not found", path) from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"split file is not readable JSON ({exc})", path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("train"), list) or not isinstance(doc.get("val"), list):
        raise DatasetError("not a split file (needs 'train' and 'val' lists)", path)
    return [str(x) for x in doc["train"]], [str(x) for x in doc["val"]]


def indices_of(dataset, names: Sequence[str], path=None) -> List[int]:
    """Indices of ``names`` in ``dataset.names``; :class:`DatasetError` listing names it does not contain."""
    pos = {n: i for i, n in enumerate(dataset.names)}
    missing = [n for n in names if n not in pos]
    if missing:
        more = f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""
        raise DatasetError(f"split names not in the dataset: {', '.join(missing[:5])}{more}", path or dataset.root)
    return [pos[n] for n in names]
