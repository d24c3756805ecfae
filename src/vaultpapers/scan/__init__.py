"""One note scanned, the catalog of every scan, and scanning many notes on every core."""
