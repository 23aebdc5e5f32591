import sys
from pathlib import Path

import pytest

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


def test_run_keeps_stdout_apart_and_calls_watch(tmp_path):
    system = demo.System({"PATH": "/usr/bin:/bin"}, tmp_path, say=lambda _: None)
    system._cmd = lambda args: [sys.executable, "-c", *args]
    calls = []
    out = system.run("stage", ["import sys, time; print('result'); print('noise', file=sys.stderr); time.sleep(1.2)"],
                     watch=lambda: calls.append(1))
    assert out.strip() == "result" and calls
    log = (tmp_path / "stage.log").read_text()
    assert "noise" in log and "result" in log
    assert not list(tmp_path.glob(".*.stdout"))


def test_log_watch_counts_kfp_tasks_across_partial_lines(tmp_path):
    log = tmp_path / "pipeline.log"
    follow = demo.LogWatch(log)
    follow.poll()  # not there yet
    with open(log, "a") as fh:
        fh.write('{"msg": "Executing task \\u001b[96m\'extract-world\'\\u001b[0m"}\n')
        fh.write("Task \x1b[96m'extract-world'\x1b[0m finished with status \x1b[92mSUCCESS\x1b[0m\n")
        fh.write("Executing task 'train-retr")
    follow.poll()
    assert (follow.finished, follow.current) == (1, "extract-world")
    with open(log, "a") as fh:
        fh.write("ieval'\n")
    follow.poll()
    assert (follow.finished, follow.current) == (1, "train-retrieval")


def test_demo_namespace_and_reset_refuses_other_databases(tmp_path):
    from animerec.common import config
    core = config.core({}, state_dir=tmp_path)
    mine = demo.demo_core(core)
    assert mine.postgres_url.endswith("/animerec_demo") and mine.redis_prefix == "animerec:demo:"
    assert mine.topic_prefix == "animerec.demo." and demo.demo_core(mine) == mine
    with pytest.raises(ValueError, match="not a demo database"):
        demo.reset(core)


def test_line_reporter_and_stage_table():
    lines = []
    flow = demo.Flow(demo.System({}, Path("."), say=lines.append), core=None)  # type: ignore[arg-type]
    with flow.stage("crawl profiles") as row:
        row.update(done=3, total=4, detail="3/4 profiles")
        row.rows = 3
    assert lines[0] == "== crawl profiles" and "3/4 profiles" in lines[1]
    assert "crawl profiles" in flow.table() and flow.stages[0].rows == 3


def test_streaming_job_starts_from_its_own_venv_when_there(tmp_path, monkeypatch):
    started: list[tuple[str, list[str], str | None, dict]] = []
    system = demo.System({}, tmp_path, say=lambda _: None)
    monkeypatch.setattr(system, "start", lambda name, args, python=None, **env: started.append((name, args, python,
                                                                                                env)))
    flow = demo.Flow(system, core=None)  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "prefix", str(tmp_path / ".venv"))
    assert flow.start_stream(tmp_path / "ck") is False and started == []
    python = tmp_path / ".venv-stream" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    assert flow.start_stream(tmp_path / "ck") is True
    assert started == [("stream", ["stream", "run", "--fresh"], str(python),
                        {"ANIMEREC_STREAM_CHECKPOINT_DIR": str(tmp_path / "ck"), **demo.DEMO_STREAM})]
    # a setting in the environment wins over the demo's quick one
    system.env["ANIMEREC_STREAM_SLIDE_MINUTES"] = "5"
    started.clear()
    flow.start_stream(tmp_path / "ck")
    assert "ANIMEREC_STREAM_SLIDE_MINUTES" not in started[0][3]
    assert started[0][3]["ANIMEREC_STREAM_ALLOWED_LATENESS_SECONDS"] == "30"
