"""ETL: landing -> staging (set-based SQL) -> Great Expectations -> processed; dataset export."""
