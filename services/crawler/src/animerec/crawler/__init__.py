"""animerec crawler: MyAnimeList / Jikan parsers (animerec.crawler.parsers), URLs, and the Scrapy crawler."""
