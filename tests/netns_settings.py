"""The live test project as an app host in a network namespace (``tests/netns_hosts.py``).

``tests.live_settings``, answering to the namespaces' addresses as well as loopback.
"""

from __future__ import annotations

from tests.live_settings import *  # noqa: F403
from tests.live_settings import ALLOWED_HOSTS

# Each run picks its hosts' /30 subnets at random: 10.231.N.2.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, *(f"10.231.{n}.2" for n in range(1, 255))]
