"""Trending lists into Redis, in the versioned layout the API reads (`P rec:v:V:trending`).

A window's list replaces the live version's trending list, so `/v1/trending` follows what people do
between publishes. Writes are idempotent and never go back in time: a replay after a restart writes the
same list for the same window, and a window older than the one already written is ignored (one Lua script,
so two writers cannot interleave). Per-genre lists (for "what's hot in your genres") go to
`P rec:stream:trending:genres` (genre -> JSON list), the window's metadata to `P rec:stream:trending:meta`.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from animerec.common.recstore import Keys

from .events import rank

# The live version's keys in the one layout (recstore.Keys), VERSION standing for the id the script reads itself,
# so reading the live pointer and writing into that version cannot interleave with a publish.
VERSION = "{version}"
# KEYS: meta, live pointer, genres hash; ARGV: the live version's trending key and meta key (with VERSION),
# window_end_ms, list JSON, updated_at, list length, then genre, genre list JSON pairs
_WRITE = """
local function of_version(key, version)
  local at = string.find(key, '{version}', 1, true)
  return string.sub(key, 1, at - 1) .. version .. string.sub(key, at + string.len('{version}'))
end
local last = tonumber(redis.call('HGET', KEYS[1], 'window_end_ms') or '-1')
local window_end = tonumber(ARGV[3])
if window_end < last then return 0 end
local live = redis.call('GET', KEYS[2])
if live then
  -- only into a complete version: its meta hash is the marker
  if redis.call('EXISTS', of_version(ARGV[2], live)) == 1 then
    redis.call('SET', of_version(ARGV[1], live), ARGV[4], 'KEEPTTL')
  end
end
redis.call('DEL', KEYS[3])
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'window_end_ms', ARGV[3], 'updated_at', ARGV[5], 'version', live or '', 'items', ARGV[6])
return 1
"""


class TrendingWriter(Keys):
    def __init__(self, client: redis.Redis, prefix: str, top_n: int, genre_top_n: int) -> None:
        self.redis = client
        self.prefix = prefix
        self.top_n = top_n
        self.genre_top_n = genre_top_n
        self._script = client.register_script(_WRITE)

    def live_catalogue(self) -> dict[int, list[str]] | None:
        """anime id -> genres of the live version's cards; None when nothing is published yet."""
        live = self.redis.get(self.live_key)
        if not live:
            return None
        live = live.decode() if isinstance(live, bytes) else live
        cards: dict[int, list[str]] = {}
        for field, raw in self.redis.hscan_iter(self.version_key(live, "cards"), count=2000):
            try:
                card: Any = json.loads(raw)
                cards[int(field)] = [str(g) for g in card.get("genres") or []]
            except (ValueError, TypeError, AttributeError):
                continue
        return cards or None

    def write(self, window_end_ms: int, scores: dict[int, float], updated_at: str,
              genres_of: dict[int, list[str]] | None = None) -> bool:
        """Write one window's trending lists; False when a newer window is already there."""
        best = rank(scores, self.top_n)
        per_genre: dict[str, dict[int, float]] = {}
        for anime_id, score in scores.items():
            for genre in (genres_of or {}).get(anime_id, []):
                per_genre.setdefault(genre, {})[anime_id] = score
        pairs: list[str] = []
        for genre in sorted(per_genre):
            pairs += [genre, json.dumps(rank(per_genre[genre], self.genre_top_n))]
        done = self._script(keys=[self.trending_key("meta"), self.live_key, self.trending_key("genres")],
                            args=[self.version_key(VERSION, "trending"), self.version_key(VERSION, "meta"),
                                  window_end_ms, json.dumps(best), updated_at, len(best), *pairs])
        return bool(done)
