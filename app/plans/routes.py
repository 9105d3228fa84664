from app.plans import bp  # noqa: F401  (views come next)
