"""The sign-in throttle as an authentication backend."""

from axes.backends import AxesStandaloneBackend


class SignInThrottle(AxesStandaloneBackend):
    """Refuses sign-ins from locked-out accounts and addresses.

    Every sign-in over the web carries its request. A check without one (a management command, a
    test client's ``login``) has no address to throttle and is left to the next backend, where
    django-axes would refuse it outright.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
