"""Settings come from the environment, with defaults that run on a laptop."""

import os


def envstr(name, default=""):
    return os.environ.get(name, default)


def envbool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return int(value)


def envfloat(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return float(value)
