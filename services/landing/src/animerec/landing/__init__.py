"""Landing writer: Kafka topics -> Apache Beam (validate, route) -> PostgreSQL landing tables."""
