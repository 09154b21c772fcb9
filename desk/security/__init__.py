"""Sessions kept on the server, the desk's own audit log and its retention rules."""
