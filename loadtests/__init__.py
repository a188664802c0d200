"""Load tests: Locust users that drive the demo server, or a store directly, and check every answer.

``python -m loadtests run --store URL`` starts the demo on that store, runs Locust headless,
writes reports under ``reports/<backend>/`` and fails if any request failed or any session was
lost. See :mod:`loadtests.run` for the options.
"""
