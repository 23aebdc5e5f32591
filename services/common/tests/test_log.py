import json
import logging

from animerec.common.log import JsonFormatter


def test_json_lines_carry_extra_fields_and_exceptions():
    fmt = JsonFormatter("crawler")
    record = logging.makeLogRecord({"name": "animerec.crawler", "levelno": logging.WARNING, "levelname": "WARNING",
                                    "msg": "page %s failed", "args": ("x",), "url": "https://myanimelist.net/anime/1"})
    line = json.loads(fmt.format(record))
    assert line["msg"] == "page x failed"
    assert line["level"] == "warning"
    assert line["service"] == "crawler"
    assert line["url"] == "https://myanimelist.net/anime/1"
    assert line["ts"].endswith("Z")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(fmt.format(record))["exc"]
