"""What the desk keeps about people and for how long: the rules, the jobs that reduce
closed requests and accounts, key rotation, and the desk's own register of processing."""
