"""qualys-mock: a local, stateful emulator of the Qualys CAR and Continuous Monitoring APIs.

The wheel installs the ``qualys-mock`` binary; this package starts it and drives its control
API::

    from qualys_mock import QualysMock

    with QualysMock(https=True, frozen_at="2022-05-10T00:00:00Z") as mock:
        customer = mock.new_customer()               # a copy of Acme, isolated
        mock.fail_next("POST", "/sm/v1/scripts/search", 500)
        ...                                          # your client against mock.url

The pytest plugin (installed with it) provides the ``qualys_mock`` and ``qualys_customer``
fixtures.
"""

from ._mock import (
    Clock,
    ControlClient,
    Customer,
    QualysMock,
    QualysMockError,
    find_binary,
)

__all__ = [
    "Clock",
    "ControlClient",
    "Customer",
    "QualysMock",
    "QualysMockError",
    "find_binary",
]
