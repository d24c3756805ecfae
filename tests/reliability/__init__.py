"""The reliability suite: vaultpapers never damages a vault, whatever the input or the fault."""
