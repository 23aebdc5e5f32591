"""HTML entities left in text after parsing (MAL escapes review text twice; catalogue titles carry "&#039;") are
unescaped by the parsers, on a real page that has them."""

import pytest

from animerec.crawler import parsers
from animerec.crawler.parsers.values import clean, unescape


def strings(items):
    for item in items:
        for value in item.values():
            if isinstance(value, str):
                yield value


def test_real_review_page_with_twice_escaped_entities(mal_fixtures):
    path = mal_fixtures / "MyAnimeList-Database" / "data" / "html" / "1" / "reviews_1.html"
    raw = path.read_text(encoding="utf-8")
    assert "Ed&amp;rsquo;s a girl" in raw  # the page itself escapes the entity twice
    page = parsers.parse("https://myanimelist.net/anime/1/Cowboy_Bebop/reviews?p=1", path.read_bytes())
    texts = list(strings(page.items))
    assert any("Ed\u2019s a girl" in t for t in texts)
    assert not [t for t in texts if "&rsquo;" in t or "&quot;" in t or "&#039;" in t]


@pytest.mark.parametrize("raw, expected", [
    ("Black Lagoon: Roberta&#039;s Blood Trail", "Black Lagoon: Roberta's Blood Trail"),
    ("Roberta&amp;#039;s", "Roberta's"), ("&quot;The Odd Couple&quot;", '"The Odd Couple"'),
    ("Girls & Panzer", "Girls & Panzer"), ("Fate/stay night &#x2014; UBW", "Fate/stay night \u2014 UBW"),
    ("a &nosuchentity; b", "a &nosuchentity; b"),
])
def test_unescape(raw, expected):
    assert unescape(raw) == expected and clean(f"  {raw} ") == expected
