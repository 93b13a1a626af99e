"""``segstudio models``: list the segmentation models with their parameter counts.

``segstudio models`` lists the registered models (default config: 3 input channels, 2 classes, no
pretrained weights); ``segstudio models NAME -o key=value ...`` counts one configuration (e.g.
``segstudio models unet -o base=32`` or ``segstudio models smp:FPN:resnet18``); ``--smp`` lists the
segmentation-models-pytorch architectures and encoders usable as ``smp:<arch>:<encoder>``.
"""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("models", help="list models and their parameter counts")
    p.add_argument("name", nargs="?", help="count one model (registered name or smp:<arch>:<encoder>)")
    p.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                   help="model option for NAME (repeatable; values parsed as YAML: 32, true, [64, 32])")
    p.add_argument("--in-channels", type=int, default=3, help="input channels (default 3)")
    p.add_argument("--classes", type=int, default=2, help="number of classes incl. background (default 2)")
    p.add_argument("--smp", action="store_true", help="list segmentation-models-pytorch architectures/encoders")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def parse_options(items) -> dict:
    import yaml

    from segstudio.core.errors import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"model options look like key=value, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"option {key}: cannot parse {value!r}: {exc}") from None
    return out


def describe(name: str) -> str:
    from segstudio.core.models import MODELS

    doc = (MODELS.get(name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def model_rows(in_channels: int = 3, num_classes: int = 2) -> list[dict]:
    from segstudio.core.models import MODELS, build_model, count_parameters

    rows = []
    for name in MODELS.names():
        kwargs = {"encoder_weights": None} if "encoder_weights" in _params(MODELS.get(name)) else {}
        try:
            n = count_parameters(build_model(name, in_channels, num_classes, **kwargs))
            rows.append({"name": name, "parameters": n, "description": describe(name)})
        except Exception as exc:  # noqa: BLE001 - a broken plugin model must not hide the others
            rows.append({"name": name, "parameters": None,
                         "description": f"cannot be built: {type(exc).__name__}: {exc}"})
    return rows


def _params(fn) -> set:
    import inspect

    return set(inspect.signature(fn).parameters)


def run(args) -> int:
    from segstudio.core.models import build_model, count_parameters

    if args.smp:
        from segstudio.core.models.smp_models import smp_architectures, smp_encoders

        data = {"architectures": smp_architectures(), "encoders": smp_encoders()}
        if args.json:
            print(json.dumps(data, indent=2))
        else:
            print("segmentation-models-pytorch, use as smp:<arch>:<encoder> (e.g. smp:Unet:resnet18)")
            print("architectures: " + ", ".join(data["architectures"]))
            print("encoders: " + ", ".join(data["encoders"]))
        return 0
    if args.name:
        kwargs = parse_options(args.option)
        model = build_model(args.name, args.in_channels, args.classes, **kwargs)
        n = count_parameters(model)
        if args.json:
            print(json.dumps({"name": args.name, "options": kwargs, "parameters": n}))
        else:
            print(f"{args.name} {kwargs or ''} {n:,} parameters ({n / 1e6:.2f} M)".replace("  ", " "))
        return 0
    rows = model_rows(args.in_channels, args.classes)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    w = max(len(r["name"]) for r in rows) + 2
    print(f"{'model'.ljust(w)}{'parameters':>14}  description")
    for r in rows:
        count = f"{r['parameters']:,}" if r["parameters"] is not None else "-"
        print(f"{r['name'].ljust(w)}{count:>14}  {r['description']}")
    print(f"(default options, {args.in_channels} input channels, {args.classes} classes; "
          "also smp:<arch>:<encoder>, see --smp)")
    return 0
