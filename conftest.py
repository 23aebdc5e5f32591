# Shared pytest fixtures (real Tansu broker, PostgreSQL database, Redis database) for every test folder.
pytest_plugins = ["animerec.common.testing"]
