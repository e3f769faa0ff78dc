"""The Python side of browser.mjs: one headless Chromium process for a test module,
driven request by request (each answer is awaited before the next request)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class BrowserError(AssertionError):
    """The page did not do what a request asked (the message says what, with its log)."""


class Browser:
    def __init__(self, chromium: Path, node_url: str) -> None:
        self.node_url = node_url
        self._id = 0
        self.proc = subprocess.Popen(
            ["node", str(HERE / "browser.mjs"), str(chromium)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def call(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._id += 1
        self.proc.stdin.write(json.dumps({"id": self._id, "op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise BrowserError(f"the browser process ended: {self.proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]
        answer = json.loads(line)
        if not answer["ok"]:
            raise BrowserError(f"{op} {args}: {answer['error']}\n" + "\n".join(answer["log"][-30:]))
        return answer["value"]

    def open(
        self,
        url: str,
        *,
        account: str | None = None,
        kind: str = "eip6963",
        chain_id: int | None = None,
        width: int = 1200,
        height: int = 900,
        reject: tuple[str, ...] = (),
    ) -> None:
        """A fresh context at ``url`` with a wallet for ``account`` (none when None)."""
        wallet = None
        if account is not None:
            wallet = {
                "kind": kind,
                "account": account,
                "chainId": None if chain_id is None else hex(chain_id),
                "reject": list(reject),
            }
        self.call(
            "open", viewport={"width": width, "height": height}, wallet=wallet, node=self.node_url
        )
        self.call("goto", url=url)
        self.wait("body[data-ready='1']")

    def wait(self, selector: str, timeout: int = 30000, state: str = "visible") -> None:
        self.call("wait", selector=selector, timeout=timeout, state=state)

    def eval(self, js: str) -> Any:
        return self.call("eval", js=js)

    def text(self, selector: str) -> str:
        return str(self.eval(f"document.querySelector({json.dumps(selector)}).textContent"))

    def texts(self, selector: str) -> list[str]:
        every = f"[...document.querySelectorAll({json.dumps(selector)})]"
        return list(self.eval(every + ".map(e => e.textContent.replace(/\\s+/g, ' ').trim())"))

    def attrs(self, selector: str, name: str) -> list[str]:
        every = f"[...document.querySelectorAll({json.dumps(selector)})]"
        return list(self.eval(every + f".map(e => e.getAttribute({json.dumps(name)}))"))

    def click(self, selector: str) -> None:
        self.call("click", selector=selector)

    def fill(self, selector: str, value: str) -> None:
        self.call("fill", selector=selector, value=value)

    def select(self, selector: str, value: str) -> None:
        self.call("select", selector=selector, value=value)

    def goto(self, url: str) -> None:
        self.call("goto", url=url)
        self.wait("body[data-ready='1']")

    def shot(self, path: Path) -> None:
        self.call("screenshot", path=str(path))

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
