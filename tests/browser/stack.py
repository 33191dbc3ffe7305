"""The product for the browser tests: the Lever and Canditech sandboxes and the hub (`hub run`) as
separate processes on loopback, like ``tests/e2e/harness.start_stack`` but with NOTHING connected:
the Super Admin does the whole setup in the web UI. Users are created before the hub starts (so
`hub run` does not create its own first Super Admin)."""

from __future__ import annotations

import uuid
from pathlib import Path

import requests

from hub import services
from hub.demo import sandbox_specs
from hub.runtime import get_runtime
from tests.e2e.harness import FAST_ENGINE, Stack, start_sandbox
from tests.support.processes import free_port, hub_env, start_hub, wait_for

PASSWORD = "correct horse battery staple"

SUPER_ADMIN = "sam.super@example.com"
TEAM_MEMBER = "tom.team@example.com"
LIMITED = "lena.limited@example.com"  # a follower of "Backend Engineer" (not of "Data Analyst") in the Lever seed

USERS = {SUPER_ADMIN: "super_admin", TEAM_MEMBER: "team_member", LIMITED: "limited_team_member"}


def _ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def start_browser_stack(make_app, tmp_path: Path, sandboxes: tuple[str, ...] = ("lever", "canditech"),
                        users: dict[str, str] | None = None) -> Stack:
    """Start ``sandboxes`` and the hub; ``users`` (email -> role, all with ``PASSWORD``) exist before
    the hub answers. Nothing is enabled or connected."""
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    port = free_port()
    config = {"QUEUE_IMMEDIATE": False, "PUBLIC_URL": f"http://127.0.0.1:{port}",
              "QUEUE_NAME": f"hub-browser-{uuid.uuid4().hex[:8]}"}
    app = make_app(config)
    with app.app_context():
        for email, role in (USERS if users is None else users).items():
            services.create_user(1, email, role, password=PASSWORD, actor="browser test")
    stack = Stack(app=app, hub_url=config["PUBLIC_URL"], sandbox_urls={}, logs=logs)
    try:
        specs = sandbox_specs(get_runtime(app).registry)
        for name in sandboxes:
            process, url = start_sandbox(specs[name].module, logs / f"{name}-sandbox.log",
                                         ["--retry-delays", "0.3,0.6,1,2,3"])
            stack.processes.append(process)
            stack.sandbox_urls[name] = url
        stack.env = hub_env(app.config, **FAST_ENGINE)
        stack.processes.append(start_hub(["run", "--port", str(port), "--workers", "4"], stack.env, logs / "hub.log"))
        wait_for(lambda: _ready(stack.hub_url), 60, message="the hub to answer /readyz")
    except BaseException:
        stack.stop()
        raise
    return stack


def log_tails(stack: Stack, lines: int = 40) -> str:
    """The end of every process log, to print when a test fails."""
    out = []
    for path in sorted(stack.logs.glob("*.log")) if stack.logs else []:
        text = path.read_text(errors="replace").splitlines()[-lines:]
        out.append(f"----- {path.name} (last {len(text)} lines) -----\n" + "\n".join(text))
    return "\n".join(out)
