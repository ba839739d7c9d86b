"""A copy of a selection held at "running" for a browser test: the API's answers about the copy's task (the
202 of `POST /api/v1/collections` and `GET /api/v1/review/tasks/{id}`) say it is half done, as a slow copy's
would, until `release()`; then they are the server's own (the copy itself runs for real), or say the copy
failed with `error`, as the server's do when a copy fails mid-way."""

from __future__ import annotations

from playwright.sync_api import Page, Route


class HeldCopy:
    def __init__(self, page: Page):
        self.held, self.error = True, None
        page.route("**/api/v1/review/tasks/*", self._answer)
        page.route("**/api/v1/collections", self._answer)

    def release(self, error: dict | None = None) -> None:
        self.held, self.error = False, error

    def _answer(self, route: Route) -> None:
        if route.request.method != "POST" and "/review/tasks/" not in route.request.url:
            route.continue_()
            return
        answer = route.fetch()
        body = answer.json()
        task = body.get("task", body)
        if task.get("kind") == "copy" and self.held:
            task.update(state="running", stage="copying", done=1, total=2, percent=50, result=None)
        elif task.get("kind") == "copy" and self.error is not None:
            task.update(state="failed", result=None, error=self.error)
        route.fulfill(response=answer, json=body)
