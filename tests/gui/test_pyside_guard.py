"""The PySide6 6.12 reference-count guard: importing segstudio.gui is enough to survive many Qt calls."""
import subprocess
import sys
import textwrap


def test_many_void_qt_calls_and_emits_do_not_abort_the_interpreter():
    # Without the guard, PySide6 6.12 on CPython 3.11 drops one reference to None per void call and one to
    # the returned bool per emit: far fewer than 200 000 calls reach zero and abort ("none_dealloc").
    code = textwrap.dedent("""
        import gc, sys
        import segstudio.gui
        from PySide6.QtCore import QObject, QPointF, Signal
        class P(QObject):
            ping = Signal()
        p, probe = QPointF(), P()
        for _ in range(200_000):
            p.setX(1.0)
            probe.ping.emit()
        gc.collect()
        print("alive", sys.getrefcount(None) > 0)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "alive True" in out.stdout
