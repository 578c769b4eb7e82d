"""perceptops: population-group urban safety-perception models, from street view images to served, monitored model versions."""

__version__ = "0.1.0"
