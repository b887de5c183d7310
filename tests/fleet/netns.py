"""Hosts made of network namespaces on this machine (root only): each host is a namespace with
one veth link to a private bridge, an address of 10.213.N.0/24 (N drawn per network so that
parallel runs do not meet), and the processes started in it. The machine itself is 10.213.N.1
on the bridge. Everything is removed by `destroy`, whatever happened."""

import os
import random
import secrets
import shutil
import signal
import subprocess
from contextlib import suppress
from pathlib import Path

from tests.processes import PROJECT_ROOT, Process


def netns_available() -> bool:
    """Whether this process may make namespaces, links and bridges (root with `ip`)."""
    return os.geteuid() == 0 and shutil.which("ip") is not None


def ip(*arguments: str, netns: str | None = None) -> str:
    command = ["ip", *arguments]
    if netns is not None:
        command = ["ip", "netns", "exec", netns, *command]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


class Host:
    """One namespace: its name, address, and the processes started in it."""

    def __init__(self, network: "Network", name: str, number: int) -> None:
        self.network = network
        self.name = name
        self.netns = f"{network.prefix}-{name}"
        self.address = f"{network.subnet}.{number}"
        self.link = f"{network.prefix}{number}"
        self.processes: list[Process] = []

    def create(self) -> None:
        ip("netns", "add", self.netns)
        ip("link", "add", self.link, "type", "veth", "peer", "name", f"{self.link}n")
        ip("link", "set", f"{self.link}n", "netns", self.netns)
        ip("link", "set", self.link, "master", self.network.bridge, "up")
        ip("link", "set", f"{self.link}n", "name", "eth0", netns=self.netns)
        ip("addr", "add", f"{self.address}/24", "dev", "eth0", netns=self.netns)
        ip("link", "set", "eth0", "up", netns=self.netns)
        ip("link", "set", "lo", "up", netns=self.netns)
        ip("route", "add", "default", "via", self.network.gateway, netns=self.netns)

    def start(
        self, command: list[str], environ: dict[str, str], log_path: Path, cwd: Path | None = None
    ) -> Process:
        """Run `command` in this host (see tests/processes.py), its output into `log_path`."""
        process = Process(
            ["ip", "netns", "exec", self.netns, *command],
            environ,
            log_path,
            cwd=cwd or PROJECT_ROOT,
        ).start()
        self.processes.append(process)
        return process

    def pids(self) -> list[int]:
        """Every process running in this namespace."""
        try:
            listed = subprocess.run(
                ["ip", "netns", "pids", self.netns], capture_output=True, text=True, check=True
            ).stdout
        except subprocess.CalledProcessError:
            return []
        return [int(pid) for pid in listed.split()]

    def crash(self) -> None:
        """SIGKILL every process of this host at once, as a power cut would."""
        for pid in self.pids():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for process in self.processes:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        self.processes = [process for process in self.processes if process.running()]

    def destroy(self) -> None:
        self.crash()
        with suppress(subprocess.CalledProcessError):
            ip("netns", "del", self.netns)
        with suppress(subprocess.CalledProcessError):
            ip("link", "del", self.link)


class Network:
    """A private bridge and the hosts on it; the machine is the gateway (.1)."""

    def __init__(self) -> None:
        self.prefix = "cf" + secrets.token_hex(2)
        self.bridge = f"{self.prefix}br"
        used = ip("-4", "-o", "addr", "show")
        free = [n for n in range(1, 255) if f"10.213.{n}." not in used]
        self.subnet = f"10.213.{random.choice(free)}"
        self.gateway = f"{self.subnet}.1"
        self.hosts: dict[str, Host] = {}

    def create(self) -> None:
        ip("link", "add", "name", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add_host(self, name: str, number: int) -> Host:
        host = Host(self, name, number)
        self.hosts[name] = host
        host.create()
        return host

    def destroy(self) -> None:
        for host in self.hosts.values():
            host.destroy()
        with suppress(subprocess.CalledProcessError):
            ip("link", "del", self.bridge)

    def __enter__(self) -> "Network":
        try:
            self.create()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.destroy()
