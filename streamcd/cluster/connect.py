"""Joining a Ray cluster or starting a local instance: one place for ``streamcd run`` and
``streamcd bench``.

``ray.init(address=HOST:PORT)`` retries an address where nothing listens for minutes, logging
every few seconds; a TCP probe first turns a wrong ``--address`` into one clear error.
"""

from __future__ import annotations

import logging
import socket
from types import ModuleType

from ..errors import ClusterError

log = logging.getLogger(__name__)

#: Seconds the TCP probe of a cluster address waits for the head to answer.
PROBE_TIMEOUT_S = 5.0

ADDRESS_HINT = "give --address auto (a cluster started on this machine), HOST:6379 or ray://HOST:10001"


def tcp_endpoint(address: str) -> tuple[str, int] | None:
    """(host, port) of ``HOST:PORT`` or ``ray://HOST:PORT``; None for ``auto``/``local``.

    ClusterError for an address that is neither.
    """
    if address in ("auto", "local"):
        return None
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"Ray address {address!r} is not HOST:PORT; {ADDRESS_HINT}")
    return host.strip("[]"), int(port)


def probe(address: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """ClusterError unless something accepts TCP connections at ``address`` (auto: no probe)."""
    endpoint = tcp_endpoint(address)
    if endpoint is None:
        return
    try:
        with socket.create_connection(endpoint, timeout=timeout_s):
            pass
    except OSError as e:
        raise ClusterError(f"cannot reach the Ray cluster at {address!r}: {e}; is its head "
                           f"running and the port open? {ADDRESS_HINT}") from e


def connect_ray(ray: ModuleType, address: str | None, *, num_cpus: int | None,
                object_store_mb: int, log_to_driver: bool) -> None:
    """``ray.init`` for ``address`` (probed first), or a local instance of ``num_cpus`` CPUs
    (None = all) and ``object_store_mb`` MiB of object store when ``address`` is None."""
    if address:
        probe(address)
        log.info("connecting to Ray at %s", address)
        try:
            ray.init(address=address, log_to_driver=log_to_driver)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ClusterError(f"cannot join the Ray cluster at {address!r}: {e}; "
                               f"{ADDRESS_HINT}") from e
        return
    log.info("starting a local Ray instance (%s CPUs)", num_cpus or "all")
    ray.init(num_cpus=num_cpus, object_store_memory=object_store_mb * 2**20,
             include_dashboard=False, log_to_driver=log_to_driver)
