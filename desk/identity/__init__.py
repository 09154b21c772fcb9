"""Who is signed in: server-side sessions, login links by email (residents and staff alike),
devices, and the "Mes connexions" pages."""
