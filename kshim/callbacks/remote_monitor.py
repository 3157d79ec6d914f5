"""`RemoteMonitor`: POST the epoch logs to a server (with the standard library's urllib)."""

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from kshim.callbacks.callback import Callback


def _plain(value):
    """A log value JSON can hold: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value


class RemoteMonitor(Callback):
    """At the end of every epoch, send ``{"epoch": epoch, **logs}`` as an HTTP POST to ``root + path``.

    By default the body is form-encoded, with the JSON text of the logs in the form field ``field``; with
    ``send_as_json=True`` the body is the JSON itself (``Content-Type: application/json``). A server that cannot
    be reached (or answers with an error) gives a warning, never an exception: training goes on.

    Args:
        root: the server's root URL. Default "http://localhost:9000".
        path: the path appended to ``root``. Default "/publish/epoch/end/".
        field: the form field holding the JSON logs. Default "data".
        headers: extra HTTP headers (a dict).
        send_as_json: send the logs as a JSON body. Default False.
        timeout: seconds to wait for the server (kshim extra; Keras 3 waits indefinitely). Default 10.
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False, timeout=10.0):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def on_epoch_end(self, epoch, logs=None):
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = _plain(v)
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        url = self.root + self.path
        try:
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as e:
            warnings.warn(f"RemoteMonitor: the server at {self.root} answered {e.code} {e.reason} to the POST to "
                          f"{url}.", stacklevel=2)
        except (urllib.error.URLError, OSError, ValueError) as e:
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root} ({e}).", stacklevel=2)
