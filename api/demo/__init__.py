"""The demo estate of `fulcrum demo`: seed 000's county telemedicine network."""
