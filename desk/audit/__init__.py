"""The desk's own audit log (one hash chain of security-relevant actions) and its signed
checkpoints."""
