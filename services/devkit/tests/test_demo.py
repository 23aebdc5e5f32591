import sys

from animerec.devkit import demo


def test_stopped_processes_are_forgotten_and_failures_carry_the_log(tmp_path):
    system = demo.System({"PATH": "/usr/bin:/bin"}, tmp_path, say=lambda _: None)
    system._cmd = lambda args: [sys.executable, "-c", *args]  # any command, not only `animerec`
    system.start("sleeper", ["import time; time.sleep(60)"])
    system.start("other", ["import time; time.sleep(60)"])
    system.stop("sleeper")
    assert [name for name, _ in system.procs] == ["other"]
    assert all(p.poll() is None for _, p in system.procs)
    system.stop_all()
    assert system.procs == []
    try:
        system.run("failing", ["import sys; print('the reason'); sys.exit(3)"])
    except demo.FlowError as exc:
        assert "exit 3" in str(exc) and "the reason" in str(exc)
    else:
        raise AssertionError("a failing stage must raise FlowError")
    assert "the reason" in (tmp_path / "failing.log").read_text()


def test_progress_bar():
    assert demo.bar(0, 10, width=10) == "[..........] 0/10"
    assert demo.bar(5, 10, width=10) == "[#####.....] 5/10"
    assert demo.bar(0, 0, width=4) == "[####] 0/0"
