"""animerec streaming job: trending anime and live online metrics from Kafka, on PyFlink."""
