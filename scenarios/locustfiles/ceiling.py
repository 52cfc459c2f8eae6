"""The load generator's ceiling: as many requests as one locust process can send.

Run by the harness against nginx's constant answer; as it is:
    locust -f scenarios/locustfiles/ceiling.py --host http://127.0.0.1:PORT
"""

from locust import task
from locust.contrib.fasthttp import FastHttpUser


class CeilingUser(FastHttpUser):
    """No think time: every user sends its next request as soon as the last returns."""

    @task
    def ok(self) -> None:
        self.client.get("/ok", name="ok")
