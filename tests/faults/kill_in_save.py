"""``segstudio`` CLI that SIGKILLs itself in the middle of writing a checkpoint (test helper, run as a script).

SEGSTUDIO_TEST_KILL_IN="<file name>:<n>" (e.g. "last.pt:2"): on the n-th ``torch.save`` into the temp file of
that checkpoint, half of the bytes are written and fsynced, then the process kills itself with SIGKILL, as a
power cut or the OOM killer would in the middle of the write.
"""
import io
import os
import signal
import sys

import torch

NAME, NTH = os.environ["SEGSTUDIO_TEST_KILL_IN"].rsplit(":", 1)
_real_save = torch.save
_count = [0]


def _save(obj, f, *args, **kwargs):
    target = os.readlink(f"/proc/self/fd/{f.fileno()}") if hasattr(f, "fileno") else str(f)
    if os.path.basename(target).startswith(f".{NAME}."):
        _count[0] += 1
        if _count[0] == int(NTH):
            buf = io.BytesIO()
            _real_save(obj, buf, *args, **kwargs)
            data = buf.getvalue()
            f.write(data[: len(data) // 2])
            f.flush()
            os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
    return _real_save(obj, f, *args, **kwargs)


torch.save = _save

from segstudio.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
