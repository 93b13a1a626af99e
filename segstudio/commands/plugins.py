"""``segstudio plugins``: list the registries' entries and any plugin that failed to load."""
from __future__ import annotations

import importlib


#: (title, module, registry attribute)
REGISTRIES = (
    ("models", "segstudio.core.models", "MODELS"),
    ("losses", "segstudio.core.losses", "LOSSES"),
    ("exporters", "segstudio.core.export", "EXPORTERS"),
)


def register(sub) -> None:
    p = sub.add_parser("plugins", help="list models, losses, exporters and window extensions, including plugins'")
    p.set_defaults(func=run)


def run(args) -> int:
    from importlib import metadata

    from segstudio.core import registry

    registry.load_plugins()
    eps = list(metadata.entry_points(group="segstudio.plugins"))
    print("plugins (entry-point group segstudio.plugins): " + (", ".join(f"{e.name} = {e.value}" for e in eps) or "none"))
    for title, module, attr in REGISTRIES:
        reg = getattr(importlib.import_module(module), attr)
        print(f"{title}: {', '.join(reg.names())}")
    from segstudio.core.session import WINDOW_EXTENSIONS   # the app's own (export, training, review) are added
                                                            # when the window starts: only plugins' are listed
    print(f"window extensions from plugins: {', '.join(WINDOW_EXTENSIONS.names()) or 'none'}")
    if registry.plugin_errors:
        print("plugins that failed to load:")
        for err in registry.plugin_errors:
            print(f"  {err}")
        return 1
    return 0
