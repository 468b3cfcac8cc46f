"""Building: generated C for the host (validation) and firmware for a target (linker script, harness)."""
