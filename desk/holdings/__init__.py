"""Holdings and lineage: what signatories tell, by keyed hash, about whom they hold data on
and what they did with it; the partner API endpoints that receive it."""
