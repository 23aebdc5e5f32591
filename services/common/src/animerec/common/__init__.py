"""Shared core of every animerec service: config, logging, metrics, Kafka, PostgreSQL, Redis."""
