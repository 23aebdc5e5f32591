import signal
import subprocess
import sys

from animerec.devkit.processes import stop


def _child(code: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", f"import signal, sys, time\n{code}\nprint('up', flush=True)\n"
                             "time.sleep(60)"], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"   # its handlers are in place
    return proc


def test_stop_signals_then_waits():
    assert stop(_child(""), timeout=10) == -signal.SIGTERM


def test_stop_kills_what_ignores_the_signal():
    proc = _child("signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    assert stop(proc, timeout=0.5) == -signal.SIGKILL


def test_stop_without_a_signal_only_waits_then_kills():
    assert stop(_child(""), timeout=0.3, sig=None) == -signal.SIGKILL


def test_a_finished_process_keeps_its_exit_code():
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    assert stop(proc) == 3
