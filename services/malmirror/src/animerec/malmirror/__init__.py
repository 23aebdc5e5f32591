"""Offline MyAnimeList mirror: a world of anime and users served as MAL HTML and Jikan v4 JSON."""
