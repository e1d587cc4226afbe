"""A private Docker Engine for CI, and the stand-in base images it builds.

The engine: Debian's `docker.io`, started with no bridge and no iptables (this
machine allows loopback traffic only, so every container uses host networking),
with its data, state, pid file and socket under var/ci-docker/, so the layer
cache survives between runs and nothing touches a system-wide engine.

The stand-ins: no image registry is reachable here, so every image the compose
file and the Dockerfile name is built from a Debian bookworm root made by
debootstrap (cached as a tarball under var/ci-images/) plus Debian's packages,
with an entrypoint that reads the variables the official image reads.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = Path(__file__).resolve().parent / "images"
STATE = ROOT / "var" / "ci-docker"
CACHE = ROOT / "var" / "ci-images"
BASE_IMAGE = "torchready-ci/debian:bookworm"
LABEL = "torchready-ci"
HOST_CA = Path("/usr/local/share/ca-certificates")
# Debian's client matches Debian's engine (a newer client on PATH may want buildx).
DOCKER = "/usr/bin/docker"


STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"--> [{time.monotonic() - STARTED:4.0f} s] {message}", flush=True)


def apt_install(*packages: str) -> None:
    missing = [
        p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode
    ]
    if missing:
        log(f"apt-get install {' '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env)


class Engine:
    """dockerd on a private socket; `engine("ps")` runs the Docker client against it."""

    def __init__(self) -> None:
        self.socket = STATE / "docker.sock"
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}
        self.proc: subprocess.Popen | None = None

    def __call__(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        result = subprocess.run([DOCKER, *args], env=self.env, **kwargs)
        if check and result.returncode:
            raise RuntimeError(f"docker {' '.join(args[:3])} failed:\n{result.stderr}")
        return result

    def alive(self) -> bool:
        return self("version", check=False).returncode == 0

    def start(self) -> None:
        apt_install("docker.io", "debootstrap")
        for folder in ("data", "exec"):
            (STATE / folder).mkdir(parents=True, exist_ok=True)
        self.stop_stale()
        log("starting dockerd (no bridge, no iptables: host networking only)")
        self.proc = subprocess.Popen(
            [
                "dockerd",
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                f"--data-root={STATE / 'data'}",
                f"--exec-root={STATE / 'exec'}",
                f"--pidfile={STATE / 'dockerd.pid'}",
                f"--host=unix://{self.socket}",
            ],
            stdout=(STATE / "dockerd.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(120):
            if self.alive():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited; see {STATE / 'dockerd.log'}")
            time.sleep(0.5)
        raise RuntimeError("dockerd did not answer within 60 s")

    def stop_stale(self) -> None:
        """An engine a killed run left behind on our socket: stop it by its pid file."""
        pidfile = STATE / "dockerd.pid"
        if pidfile.exists():
            pid = int(pidfile.read_text().strip() or 0)
            if pid and Path(f"/proc/{pid}/cmdline").exists():
                if b"dockerd" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGTERM)
                    _wait_gone(pid)
        _unmount_under(STATE)

    def clean(self) -> None:
        """Remove every container and volume this stage made (they carry its label)."""
        ids = self("ps", "-aq", "--filter", f"label={LABEL}").stdout.split()
        if ids:
            self("rm", "-f", "-v", *ids, check=False)
        volumes = self("volume", "ls", "-q", "--filter", f"label={LABEL}").stdout.split()
        if volumes:
            self("volume", "rm", "-f", *volumes, check=False)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.clean()
        networks = self("network", "ls", "--format", "{{.Driver}}").stdout.split()
        assert "bridge" not in networks, "a bridge network was created"
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        _unmount_under(STATE)
        left = _mounts_under(STATE)
        assert not left, f"dockerd left mounts behind that block deleting the clone: {left}"
        log("dockerd stopped")

    def has_image(self, name: str) -> bool:
        return self("image", "inspect", name, check=False).returncode == 0

    def build(self, tag: str, context: Path, *extra: str) -> None:
        # Host networking: pip and apt reach their registries the way the host does.
        result = self("build", "--network", "host", "-t", tag, *extra, str(context), check=False)
        if result.returncode:
            raise RuntimeError(f"building {tag} failed:\n{result.stdout[-4000:]}{result.stderr}")


def _mounts_under(folder: Path) -> list[str]:
    prefix = f"{folder.resolve()}/"
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    points = [line.split()[1].replace("\\040", " ") for line in mounts]  # spaces as octal
    return [point for point in points if point.startswith(prefix)]


def _unmount_under(folder: Path) -> None:
    """What dockerd leaves mounted in its state folder after it exits (the host
    network namespace's file under exec/netns): else the clone can't be deleted."""
    for point in sorted(_mounts_under(folder), key=len, reverse=True):  # the deepest first
        subprocess.run(["umount", point], check=False, capture_output=True)


def _wait_gone(pid: int) -> None:
    for _ in range(60):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.5)


def base_image(engine: Engine) -> None:
    """Debian bookworm from debootstrap, imported once and cached as a tarball."""
    if engine.has_image(BASE_IMAGE):
        return
    tarball = CACHE / "debian-bookworm.tar.gz"
    if not tarball.exists():
        mirror = _debian_mirror()
        log(f"debootstrap bookworm from {mirror} (once; cached in {tarball})")
        rootfs = CACHE / "rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror],
            check=True,
            stdout=(CACHE / "debootstrap.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        partial = tarball.with_suffix(".partial")
        subprocess.run(f"tar -C {rootfs} -c . | gzip -1 > {partial}", shell=True, check=True)
        partial.rename(tarball)
        shutil.rmtree(rootfs)
    log(f"docker import {tarball.name} as {BASE_IMAGE}")
    engine("import", str(tarball), BASE_IMAGE)


def _debian_mirror() -> str:
    """The Debian mirror this machine's apt uses."""
    # Comments are left out: Debian's images name a snapshot.debian.org URL in one,
    # which is not where apt fetches from.
    sources = " ".join(
        line
        for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
        if path.is_file()
        for line in path.read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    match = re.search(r"(https?://\S+/debian)\b(?!-security)", sources)
    return match.group(1) if match else "http://deb.debian.org/debian"


def standin_images(engine: Engine, names: set[str]) -> None:
    """Build each named image from .ci/container/images/<name without tag>/."""
    base_image(engine)
    for name in sorted(names):
        kind = name.split(":")[0].rsplit("/", 1)[-1]
        folder = IMAGES / kind
        if not folder.is_dir():
            raise RuntimeError(f"no stand-in for image {name}: add {folder.relative_to(ROOT)}/")
        context = CACHE / "context" / kind
        shutil.rmtree(context, ignore_errors=True)
        shutil.copytree(folder, context)
        # This machine reaches registries through a proxy with its own certificate
        # authority: the stand-ins trust what the host trusts, as an image built
        # on this network would need to.
        (context / "host-ca").mkdir()
        for certificate in HOST_CA.glob("*.crt"):
            shutil.copy(certificate, context / "host-ca")
        engine.build(name, context, "-q")
