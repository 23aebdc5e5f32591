"""The crawl scheduler: picks anime/profile URLs by policy and publishes schedule requests to Kafka."""
