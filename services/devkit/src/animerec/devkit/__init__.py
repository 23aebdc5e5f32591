"""Developer tooling of animerec (local stack, Tansu broker, demo, pytest fixtures, type-check ratchet).

Never installed in an image."""
