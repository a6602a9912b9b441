"""The simulated bench: device physics, and instruments that answer the same SCPI as real ones."""
