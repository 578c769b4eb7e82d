"""The BentoML service and bento packaging."""
