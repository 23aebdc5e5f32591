"""Deployment tooling of animerec: chart rendering, validation, dashboards and docs generation."""
