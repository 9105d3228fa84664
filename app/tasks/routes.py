from app.tasks import bp  # noqa: F401  (views come next)
