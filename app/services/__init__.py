"""Domain services: everything views and commands do goes through here."""
