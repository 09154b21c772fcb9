"""Who is signed in: one login flow by emailed link for residents, staff and organisations'
people (login, login_routes, login_links, other_device), server-side sessions, devices, and
the "Mes connexions" pages."""
