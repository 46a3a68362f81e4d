"""A person at a JupyterHub, without a browser: login, a token, their server, files, kernels — through the hub's
REST API and their single-user server's (contents, kernels over their websocket, nbgrader's assignments).

`HubUser.login(base, name, password)` posts the hub's login form as a browser would, then asks the hub's API
for a token; everything after uses that token. `run(code)` executes code in a kernel of the user's server and
returns what it printed, as JupyterLab's notebook does cell by cell.
"""

import json
import time
import uuid
from dataclasses import dataclass

import requests
import websocket

WAIT_S = 120.0  # a server's start on a busy two-core machine


class KernelError(AssertionError):
    """A cell raised: its traceback, as the notebook would show it."""


@dataclass
class HubUser:
    base: str  # http://127.0.0.1:PORT
    name: str
    token: str

    @classmethod
    def login(cls, base: str, name: str, password: str) -> "HubUser":
        session = requests.Session()
        session.get(f"{base}/hub/login", timeout=30).raise_for_status()
        xsrf = session.cookies.get("_xsrf", path="/hub/")
        answer = session.post(f"{base}/hub/login", data={"username": name, "password": password, "_xsrf": xsrf},
                              allow_redirects=False, timeout=30)
        if answer.status_code != 302:
            raise AssertionError(f"{name}: login refused ({answer.status_code})")
        xsrf = session.cookies.get("_xsrf", path="/hub/")  # a new one, tied to the logged-in session
        token = session.post(f"{base}/hub/api/users/{name}/tokens", json={"note": "test", "expires_in": 3600},
                             headers={"X-XSRFToken": xsrf}, timeout=30)
        token.raise_for_status()
        return cls(base, name, token.json()["token"])

    @property
    def _headers(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    def hub(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, f"{self.base}/hub/api{path}", headers=self._headers, timeout=60, **kw)

    def server(self, method: str, path: str, **kw) -> requests.Response:
        """A request to the user's own server, `/user/<name>/<path>`."""
        return requests.request(method, f"{self.base}/user/{self.name}/{path.lstrip('/')}", headers=self._headers,
                                timeout=120, **kw)

    def start_server(self) -> None:
        self.hub("POST", f"/users/{self.name}/server").raise_for_status()

    def wait_ready(self) -> dict:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            model = self.hub("GET", f"/users/{self.name}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return server
            time.sleep(0.5)
        raise AssertionError(f"{self.name}'s server was not ready within {WAIT_S} s")

    def read_notebook(self, path: str) -> dict:
        answer = self.server("GET", f"api/contents/{path}", params={"content": 1})
        answer.raise_for_status()
        return answer.json()["content"]

    def save_notebook(self, path: str, notebook: dict) -> None:
        self.server("PUT", f"api/contents/{path}", json={"type": "notebook", "format": "json",
                                                        "content": notebook}).raise_for_status()

    def kernel(self, notebook_path: str = "") -> "Kernel":
        """A kernel for the notebook at `notebook_path` (its folder is the kernel's working folder)."""
        session = self.server("POST", "api/sessions", json={"path": notebook_path or "console", "type":
                                                             "notebook" if notebook_path else "console",
                                                             "kernel": {"name": "python3"}})
        session.raise_for_status()
        return Kernel(self, session.json()["kernel"]["id"])


class Kernel:
    """One kernel of a user's server, spoken to over the server's websocket as JupyterLab does."""

    def __init__(self, user: HubUser, kernel_id: str):
        self.user, self.id = user, kernel_id
        url = f"{user.base.replace('http', 'ws', 1)}/user/{user.name}/api/kernels/{kernel_id}/channels"
        self._socket = websocket.create_connection(url, header=[f"Authorization: token {user.token}"], timeout=60)
        self._session = uuid.uuid4().hex

    def run(self, code: str, *, timeout_s: float = 60.0) -> str:
        """Execute `code`; what it printed (stdout, results); KernelError with the traceback if it raised."""
        msg_id = uuid.uuid4().hex
        self._socket.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.user.name, "session": self._session,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        printed, error, idle, replied = [], None, False, False
        deadline = time.monotonic() + timeout_s
        while not (idle and replied):
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer from {self.user.name}'s kernel within {timeout_s} s: {code[:80]!r}")
            message = json.loads(self._socket.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                printed.append(content["data"].get("text/plain", "") + "\n")
            elif kind == "error":
                error = "\n".join(content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
        if error:
            raise KernelError(f"{self.user.name}'s cell raised:\n{error}")
        return "".join(printed)

    def close(self) -> None:
        self._socket.close()
        self.user.server("DELETE", f"api/kernels/{self.id}")
