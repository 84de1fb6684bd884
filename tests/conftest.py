import os

from hypothesis import HealthCheck, settings

# "ci" runs more examples; the default keeps `make test` quick on 2 cores. Both are
# derandomized: a run's examples are fixed by the test, so CI is repeatable.
settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
