from app.auth import bp  # noqa: F401  (views come next)
