"""Scene parsers: image -> Cityscapes class fractions, photometric stats, urban indices."""
