"""Busy-port detection, done before anything starts so the error names the port and the fix."""

from __future__ import annotations

import errno
import socket


class PortBusyError(RuntimeError):
    """A port the stack needs is taken by another program."""


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could bind `host:port` now (SO_REUSEADDR, as uvicorn binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def require_free_port(host: str, port: int, *, service: str, env_var: str) -> None:
    """Raise PortBusyError naming the service, the port and the variable that moves it."""
    if not port_is_free(host, port):
        raise PortBusyError(
            f"port {port} on {host} is busy: {service} needs it. Another program listens there; "
            f"set {env_var} to a free port (for example {env_var}={port + 10}), or run "
            "`fivetran-assets stop` if an earlier demo or dev left it running"
        )


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (for tests and throwaway servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
