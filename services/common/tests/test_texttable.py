from animerec.common.texttable import table


def test_columns_line_up_and_numbers_align_right():
    out = table([["a", 1, None], ["long", 1234, "x"]], ["name", "n", "note"], right=(1,))
    assert out.splitlines() == ["name     n  note", "----  ----  ----", "a        1", "long  1234  x"]
